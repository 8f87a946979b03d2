"""The ``jobshop`` problem: the verifier recomputes everything from the log, aggregation, the references and
their labels, and a rule through the real sandbox."""

from __future__ import annotations

import pytest

from evaluators.evaluator import Evaluator
from evaluators.pool import LocalPool
from problems import reference_cache
from problems.base import Instance, InstanceRun, Verdict
from problems.jobshop import references
from problems.registry import load

JOBS = [[[0, 3], [1, 2]], [[0, 2], [1, 4]], [[1, 1]]]  # optimum 8: job 1 first on both machines


@pytest.fixture(scope="module")
def problem():
    return load("jobshop")


def tiny(reference=None, kind=None) -> Instance:
    return Instance("t-000", "3x2", {"jobs": JOBS, "machines": 2}, reference, kind)


def test_the_verifier_replays_the_log_and_measures_the_gap_to_cpsats_optimum(problem):
    assert problem.bound(tiny()).kind == "optimum" and problem.bound(tiny()).value == 8.0
    verdict = problem.verify(tiny(), [2, 0, 0, 1, 1])
    assert verdict.feasible, verdict.reason
    assert verdict.values == {"makespan": 9.0, "reference": 8.0, "gap": 12.5, "operations": 5.0}
    assert problem.verify(tiny(), [2, 1, 0, 1, 0]).values["gap"] == 0.0


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ([0, 2, 1, 0, 1], "decision 0: job 0 is not a candidate"),
        ({"makespan": 8}, "expected a list of 5 job indices"),
        ([2, 1, 0, 1], "the log schedules 4 of 5 operations"),
    ],
)
def test_a_forged_log_is_infeasible_with_a_clear_reason(problem, output, reason):
    verdict = problem.verify(tiny(), output)
    assert not verdict.feasible and verdict.reason.startswith(reason)


def test_a_supplied_reference_is_used_as_given_and_labelled(problem):
    assert problem.bound(tiny(6.0, "bound")).kind == "bound"
    assert problem.verify(tiny(6.0, "bound"), [2, 0, 0, 1, 1]).values["gap"] == 50.0


def test_aggregate_averages_the_gaps_and_times_the_operations(problem):
    runs = [
        InstanceRun(tiny(), Verdict(True, {"makespan": 11.0, "reference": 10.0, "gap": 10.0, "operations": 5.0}), 0.5),
        InstanceRun(tiny(), Verdict(True, {"makespan": 30.0, "reference": 30.0, "gap": 0.0, "operations": 15.0}), 1.5),
    ]
    metrics = problem.aggregate(runs)
    assert metrics == {"gap": 5.0, "decision_us": pytest.approx(1e5), "at_reference": 0.5, "time_ms": 1000.0}


def fake_records(monkeypatch, records):
    by_key = {repr(data["jobs"]): record for data, record in records}
    monkeypatch.setattr(references, "record", lambda data, limit: by_key[repr(data["jobs"])])


def test_bench_rows_name_cpsats_status_and_use_its_lower_bound_where_it_proves_nothing(problem, monkeypatch):
    a = Instance("a", "2x1", {"jobs": [[[0, 4]], [[0, 6]]], "machines": 1})
    b = Instance("b", "2x1", {"jobs": [[[0, 5]], [[0, 5]]], "machines": 1})
    fake_records(
        monkeypatch,
        [
            (a.data, {"makespan": 10, "bound": 10, "status": "optimal"}),
            (b.data, {"makespan": 12, "bound": 8, "status": "feasible"}),
        ],
    )
    assert problem.bound(b).kind == "bound" and problem.bound(b).value == 10.0  # the machine's load beats 8
    rows = problem.bench_bounds([a, b])
    assert rows == {"CP-SAT best (1/2 optimal)": {"gap": 10.0, "at_reference": 0.5}, "CP-SAT lower bound": {"gap": 0.0}}
    assert [problem.bound_status(name) for name in rows] == ["optimal / feasible", "lower bound"]
    assert problem.bench_bounds([a]) == {"CP-SAT optimum": {"gap": 0.0, "at_reference": 1.0}}
    assert problem.bound_status("CP-SAT optimum") == "optimal"
    assert problem.bound_status("CP-SAT best (0/1 optimal)") == "feasible"


def test_the_lower_bound_is_the_busiest_machine_or_the_longest_job():
    assert references.lower_bound({"jobs": JOBS, "machines": 2}) == 7  # machine 1: 2 + 4 + 1
    assert references.lower_bound({"jobs": [[[0, 1], [1, 20]], [[1, 2]]], "machines": 2}) == 22


def test_the_shipped_references_cover_every_generated_instance(problem):
    shipped = reference_cache.read_records(references.SHIPPED_FILE)
    for split in ("smoke", "train", "test"):
        for instance in problem.instances(split):
            assert references.record_key(instance.data, problem.reference_limit) in shipped, instance.id


# A hostile candidate rewrites the runner's half in its own process so as to answer with job 0 every time.
FORGER = """
import sys

_runner = sys.modules["problems.jobshop.runner"]
_runner.schedule = lambda jobs, machines, priority: [0] * sum(len(ops) for ops in jobs)


def priority(op, shop):
    return 0
"""


def test_a_rule_runs_through_the_sandbox_and_bad_answers_are_one_line(problem):
    spec = problem.spec
    pool = LocalPool(spec.runner, spec.entry_point, spec.seconds_per_instance, 2)
    try:
        evaluator = Evaluator(problem, pool)
        good, bad, forged = evaluator.evaluate_many(
            [problem.seed_program().read_text(), "def priority(op, shop):\n    return 'soon'\n", FORGER], "smoke"
        )
    finally:
        pool.close()
    assert good.ok and good.metrics["gap"] >= 0.0 and set(good.groups) == {"6x6", "10x5"}
    assert not bad.ok and "priority(op, shop) must return a finite int or float, got 'soon'" in bad.feedback
    assert not forged.ok and "job 0 is not a candidate (the conflict set on machine" in forged.feedback


def test_adrs_bench_prints_every_baseline_per_size_with_the_references_status(capsys):
    from evolve.cli.main import main

    assert main(["bench", "jobshop", "--split", "smoke"]) == 0
    out = capsys.readouterr().out
    for size in ("6x6 (1 instances)", "10x5 (1 instances)", "all 2 instances"):
        assert size in out
    for name in ("fifo", "spt", "lpt", "mwkr", "mor", "lor", "fdd_mwkr", "seed"):
        assert out.count(f"\n{name} ") == 3, name
    assert out.count("CP-SAT optimum  optimal") == 3
