"""The ``spot`` problem: spec, splits, the verifier of action logs, aggregation, the optimum and trace files."""

from __future__ import annotations

import dataclasses
import json
import types

import pytest

from evaluators.lockstep import play_locally
from problems.base import InstanceRun, ProblemError, Verdict
from problems.registry import load
from problems.spot import grid, runner
from problems.spot.exact import optimum_cost
from problems.spot.grid import LITERATURE_ENVIRONMENTS, LITERATURE_STARTS
from problems.spot.problem import SpotProblem, split_grids
from problems.spot.sim import Scenario, simulate
from problems.spot.traces import TRACES_ENV


@pytest.fixture(scope="module")
def problem() -> SpotProblem:
    return load("spot")


@pytest.fixture(scope="module")
def smoke(problem):
    return problem.instances("smoke")


def candidate(decide) -> types.ModuleType:
    return types.SimpleNamespace(decide=decide)


def on_demand(state):
    return "on_demand"


def always_spot(state):
    return "spot"


def log_of(instance, decide) -> list[int]:
    return play_locally(runner, candidate(decide), instance.data)


# --- spec and splits --------------------------------------------------------------------------------------


def test_spec_minimises_mean_cost_and_reports_savings_gap_and_the_worst_scenario(problem):
    assert [(o.name, o.direction, o.unit) for o in problem.objectives] == [("cost", "min", "$")]
    assert problem.spec.entry_point == "decide" and problem.spec.runner == "problems.spot.runner"
    assert {"savings", "gap", "worst_gap", "misses"} <= set(problem.spec.reported)
    assert [p.stem for p in problem.baselines()] == ["on_demand", "greedy", "uniform_progress", "round_robin_up"]
    assert all(p.is_file() for p in problem.baselines() + [problem.seed_program()])


def test_the_test_split_holds_the_literature_grid(problem):
    single = split_grids(problem.spec.options)["test"][0]
    assert single.environments == LITERATURE_ENVIRONMENTS and single.starts == LITERATURE_STARTS
    assert (single.window, single.deadlines, single.overheads) == (554, (52.0, 70.0, 92.0), (0.02, 0.2, 0.4))
    assert (single.task, single.on_demand_price, single.spot_price) == (48.0, 3.06, 0.9731)


def test_train_windows_start_after_every_test_window_has_ended(problem):
    grids = split_grids(problem.spec.options)
    test_end = max(start + grid.window for grid in grids["test"] for start in grid.starts)
    assert min(start for grid in grids["train"] for start in grid.starts) >= test_end
    train_traces = {name for grid in grids["train"] for env in grid.environments for name in env}
    test_traces = {name for grid in grids["test"] for env in grid.environments for name in env}
    assert test_traces < train_traces  # train also has traces test never sees
    assert any(len(env) > 1 for grid in grids["train"] for env in grid.environments)  # and multi-region


def test_smoke_is_small_and_synthetic_with_a_multi_zone_scenario(smoke):
    assert [i.group for i in smoke] == ["1z-6h-0.2h-syn", "2z-6h-0.2h-syn"]
    assert all(i.reference_kind == "optimum" for i in smoke)
    assert [len(i.data["zones"]) for i in smoke] == [1, 2]


def test_splits_are_deterministic(problem, smoke):
    assert [i.data for i in problem.instances("smoke")] == [i.data for i in smoke]
    with pytest.raises(ProblemError, match="unknown split"):
        problem.instances("validation")


def test_without_the_traces_train_uses_synthetic_stand_ins_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(grid, "_WARNED", set())  # the warning is once per process
    monkeypatch.setenv(TRACES_ENV, str(tmp_path))  # an empty folder: no trace files
    instances = load("spot").instances("train")
    assert len(instances) == 360 and all(i.group.endswith("-syn") for i in instances)
    assert [i.data for i in load("spot").instances("train")[:5]] == [i.data for i in instances[:5]]
    warnings = capsys.readouterr().err.splitlines()
    assert warnings and all(f"not found in {tmp_path}; a synthetic trace" in line for line in warnings)
    assert all(TRACES_ENV in line and "skypilot-org/spot-traces" in line for line in warnings)
    assert len(warnings) == len(set(warnings))  # once per trace


# --- the verifier -----------------------------------------------------------------------------------------


def test_verify_computes_cost_savings_and_gap_itself(problem, smoke):
    instance = smoke[0]
    verdict = problem.verify(instance, log_of(instance, on_demand))
    assert verdict.feasible, verdict.reason
    sc = Scenario.from_data(instance.data)
    # 4 h of work and a 0.2 h changeover: 26 ticks of 10 minutes at $3.06/h.
    assert verdict.values["cost"] == pytest.approx(26 * 0.51) == verdict.values["on_demand_cost"]
    assert verdict.values["optimum"] == pytest.approx(optimum_cost(sc))
    assert verdict.values["gap"] == pytest.approx(100 * (26 * 0.51 / verdict.values["optimum"] - 1))


def test_verify_rejects_a_log_that_uses_spot_where_the_trace_has_none(problem, smoke):
    instance = smoke[0]
    available = instance.data["zones"][0]["available"]
    first_gap = available.index("0")
    forged = [1] * (first_gap + 1)  # spot through the first tick without it
    verdict = problem.verify(instance, forged)
    assert not verdict.feasible
    assert verdict.reason.startswith(f"infeasible action log: tick {first_gap}: spot in zone 0")
    # The sandbox's runner stops a policy there too, and the verifier names the same tick.
    assert problem.verify(instance, log_of(instance, always_spot)).reason == verdict.reason


def test_verify_rejects_a_log_that_misses_the_deadline(problem, smoke):
    instance = smoke[0]
    idle = problem.verify(instance, log_of(instance, lambda s: "idle"))
    assert not idle.feasible and idle.reason == "deadline missed: 0 of 4 h of compute done by the deadline at 6 h"
    short = problem.verify(instance, [2, 2, 2])
    assert short.reason.endswith("(the log stops after 3 ticks)") and short.reason.startswith("deadline missed: 0.3")


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (None, "must be a list of ints, got NoneType"),
        ("spot", "must be a list of ints, got str"),
        ({"log": []}, "got dict"),
        ([2, float("nan")], "tick 1: entry nan is not an int"),
        ([2, 1e300], "tick 1: entry 1e+300 is not an int"),
        ([2, [2]], "tick 1: entry [2] is not an int"),
        ([2, 99], "action code 99 is out of range"),
        ([2] * 10**6, "only 36 ticks start before the deadline"),
    ],
)
def test_verify_gives_malformed_output_a_reason_not_an_exception(problem, smoke, output, reason):
    verdict = problem.verify(smoke[0], output)
    assert not verdict.feasible and reason in verdict.reason


def test_the_runner_needs_a_decide_function(smoke):
    with pytest.raises(AttributeError, match="decide"):
        play_locally(runner, types.SimpleNamespace(), smoke[0].data)


# --- aggregation and bounds -------------------------------------------------------------------------------


def test_aggregate_reports_savings_and_gap_of_the_mean_and_the_worst_scenario(problem, smoke):
    runs = [
        InstanceRun(smoke[0], Verdict(True, {**dict.fromkeys(("spot_hours", "on_demand_hours", "changeovers",
            "preemptions"), 0.0), "cost": 60.0, "on_demand_cost": 100.0, "optimum": 50.0, "gap": 20.0,
            "zones": 1.0}), 0.0),
        InstanceRun(smoke[1], Verdict(True, {**dict.fromkeys(("spot_hours", "on_demand_hours", "changeovers",
            "preemptions"), 0.0), "cost": 40.0, "on_demand_cost": 100.0, "optimum": 20.0, "gap": 100.0,
            "zones": 2.0}), 0.0),
    ]  # fmt: skip
    metrics = problem.aggregate(runs)
    assert metrics["cost"] == 50.0 and metrics["savings"] == pytest.approx(50.0)
    assert metrics["gap"] == pytest.approx(100 * (50 / 35 - 1)) and metrics["worst_gap"] == 100.0
    assert (metrics["cost_single"], metrics["cost_multi"], metrics["misses"]) == (60.0, 40.0, 0.0)
    with pytest.raises(ProblemError):
        problem.aggregate([])


def test_bound_is_the_exact_optimum_and_bench_shows_it_with_no_gap(problem, smoke):
    for instance in smoke:
        reference = problem.bound(instance)
        assert reference.kind == "optimum"
        assert reference.value == pytest.approx(optimum_cost(Scenario.from_data(instance.data)))
        seed_cost = simulate(Scenario.from_data(instance.data), on_demand).cost
        assert reference.value <= seed_cost
    row = problem.bench_bounds(smoke)["omniscient optimum"]
    assert row["gap"] == 0.0 and row["cost"] == pytest.approx(sum(problem.bound(i).value for i in smoke) / 2)
    assert 0 < row["savings"] < 100


# --- trace files ------------------------------------------------------------------------------------------


def _trace_file(folder, name, values):
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"metadata": {"gap_seconds": 600}, "data": values}))
    return path


def _with_files(problem, **files) -> SpotProblem:
    options = {**problem.spec.options, "files": {**problem.spec.options["files"], **files}}
    return SpotProblem(dataclasses.replace(problem.spec, options=options))


def test_a_trace_file_becomes_windows_crossed_with_deadlines_and_delays(problem, tmp_path):
    path = _trace_file(tmp_path, "mine", [1, 0, 0, 1] * 300)
    hours = 600 / 3600  # the file's tick
    ours = _with_files(
        problem,
        window_hours=100 * hours,
        start_hours=[0, 500 * hours],
        deadlines=[10.0],
        overheads=[0.1, 0.2],
        task=8.0,
    )
    instances = ours.load_instances(path)
    assert [i.group for i in instances] == ["mine-1z-10h-0.1h", "mine-1z-10h-0.2h"] * 2
    assert instances[0].data["zones"][0]["available"] == "1001" * 25
    flipped = _with_files(
        problem, window_hours=100 * hours, start_hours=[0], deadlines=[10.0], overheads=[0.1], task=8.0,
        convention="preempted",
    )  # fmt: skip
    assert flipped.load_instances(path)[0].data["zones"][0]["available"] == "0110" * 25
    assert all(i.reference_kind == "optimum" for i in instances)


def test_a_folder_of_traces_is_one_single_zone_environment_per_file(problem, tmp_path):
    _trace_file(tmp_path, "a", [1] * 600)
    _trace_file(tmp_path, "b", [0] * 600)
    ours = _with_files(problem, start_hours=[], deadlines=[52.0], overheads=[0.2])
    instances = ours.load_instances(tmp_path)
    # The literature's starts that fit a 600-tick trace with a 554-tick window: 3, 16, 37.
    assert [i.group for i in instances] == ["a-1z-52h-0.2h"] * 3 + ["b-1z-52h-0.2h"] * 3


def test_bad_trace_paths_and_options_are_one_clear_error(problem, tmp_path):
    with pytest.raises(ProblemError, match="no such trace file, folder or scenario set"):
        problem.load_instances(tmp_path / "missing.json")
    with pytest.raises(ProblemError, match="options.files.* convention must be one of available, preempted"):
        _with_files(problem, convention="upside-down")
