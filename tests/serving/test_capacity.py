"""DistServe's capacity as a `serving` objective: the rate ladder, the crossing of 90% attainment, the wiring."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from problems.base import InstanceRun, ProblemError, Verdict
from problems.registry import load
from problems.serving import capacity
from problems.serving.problem import ServingInstance
from problems.serving.sim import Workload, simulate

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "serving"


def _copy(rung: float, attainment: float, requests: int = 10, seconds: float = 10.0) -> InstanceRun:
    data = {"arrivals": [0.0] * requests, "duration": seconds / rung, "horizon": seconds / rung + 60}
    instance = ServingInstance(f"a@{rung:g}x", "g", data, rung=rung, base="a")
    return InstanceRun(instance, Verdict(True, {"attainment": attainment}), 0.0)


def test_capacity_interpolates_where_attainment_crosses_ninety_percent():
    # rates 0.5, 1, 2 req/s with attainment 1.0, 0.95, 0.7: the crossing lies a fifth of the way from 1 to 2
    assert capacity.instance_capacity([_copy(0.5, 1.0), _copy(1.0, 0.95), _copy(2.0, 0.7)]) == pytest.approx(1.2)
    assert capacity.instance_capacity([_copy(1.0, 0.95), _copy(2.0, 0.92)]) == 2.0  # a floor: every rung met it
    assert capacity.instance_capacity([_copy(1.0, 0.45), _copy(2.0, 0.1)]) == pytest.approx(0.5)
    assert capacity.instance_capacity([_copy(2.0, 0.0), _copy(1.0, 1.0)]) == pytest.approx(1.1)  # in rate order


@pytest.mark.parametrize("ladder", [[0.5, 2.0], [1.0, 0.5], [0.0, 1.0], "fast"])
def test_a_ladder_must_increase_be_positive_and_hold_the_instances_own_rate(ladder):
    with pytest.raises(ProblemError, match="capacity_ladder"):
        capacity.check_ladder(ladder)


def test_selecting_capacity_evaluates_every_instance_at_each_rung_and_keeps_the_other_metrics():
    plain, laddered = load("serving"), load("serving")
    laddered.select_objectives(["capacity", "p99_ttft"])
    [instance] = plain.instances("smoke")
    copies = laddered.instances("smoke")
    assert [c.id for c in copies] == [f"{instance.id}@{r:g}x" for r in capacity.LADDER]
    rates = [len(c.data["arrivals"]) / c.data["duration"] for c in copies]
    own = len(instance.data["arrivals"]) / instance.data["duration"]
    assert rates == pytest.approx([r * own for r in capacity.LADDER])

    def runs(problem, instances):
        result = []
        for i in instances:
            w = Workload.from_data(i.data)
            log = simulate(w, _fcfs).log
            result.append(InstanceRun(i, problem.verify(i, log), 0.0))
        return result

    alone = plain.aggregate(runs(plain, [instance]))
    together = laddered.aggregate(runs(laddered, copies))
    assert "capacity" not in alone
    assert {k: v for k, v in together.items() if k != "capacity"} == alone
    assert together["capacity"] >= own * alone["attainment"] / capacity.TARGET - 1e-9


def _fcfs(state):
    """Admit whole prompts in order while they fit (the smoke instance never fills the cache)."""
    free, prefill = state.free_blocks, {}
    need = sum(-(-(r.context_tokens + 1) // state.block_size) - r.blocks for r in state.running)
    free -= need
    for r in state.waiting:
        blocks = -(-(r.context_tokens + 1) // state.block_size)
        if blocks > free:
            break
        prefill[r.id], free = r.remaining_prefill, free - blocks
    return {"prefill": prefill}


def test_eval_measures_capacity_when_asked_and_names_unknown_objectives():
    def adrs(*args):
        command = [sys.executable, "-m", "evolve.cli", "eval", "serving", str(SEEDS / "slo_aware.py"), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=600)

    result = adrs("--split", "smoke", "--objectives", "capacity")
    assert result.returncode == 0, result.stderr
    row = next(line.split() for line in result.stdout.splitlines() if line.startswith("capacity "))
    assert float(row[1]) > 0
    bad = adrs("--split", "smoke", "--objectives", "speed")
    assert bad.returncode == 2 and "serving has no objective speed" in bad.stderr and "Traceback" not in bad.stderr


def test_a_run_that_selects_capacity_has_it_measured():
    from evolve.cli.running import run_evaluator
    from evolve.config import RunConfig

    problem = load("serving")
    evaluator = run_evaluator(RunConfig(objectives=("capacity", "p99_ttft"), workers=1), problem)
    try:
        assert all(i.rung for i in evaluator.instances("smoke"))
    finally:
        evaluator.pool.close()
