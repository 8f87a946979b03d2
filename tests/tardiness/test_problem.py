"""The ``tardiness`` problem: splits, verifier, aggregation, references, runner and seeds."""

from __future__ import annotations

import ast
import math
import types

import numpy as np
import pytest

from problems.base import Instance, InstanceRun, ProblemError, Verdict
from problems.registry import load
from problems.tardiness import references, runner
from problems.tardiness.exact import total_weighted_tardiness

SEEDS = ("seed.py", "edd.py", "wspt.py", "wmdd.py", "atc.py")
HAND = Instance("hand", "n3", {"p": [3, 2, 4], "w": [1, 2, 3], "d": [4, 2, 6]})


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    # One cache per test session: references are computed once, and never land in the user's home.
    monkeypatch.setenv("ADRS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "adrs-cache"))


@pytest.fixture(scope="module")
def problem():
    return load("tardiness")


def _seed_module(problem, name: str) -> types.SimpleNamespace:
    # Test-only: seeds are plain files the engine runs in a sandbox; here they run in-process.
    path = problem.seed_program().parent / name
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return types.SimpleNamespace(**namespace)


def _score(problem, name: str, split: str) -> dict[str, float]:
    module = _seed_module(problem, name)
    runs = []
    for instance in problem.instances(split):
        verdict = problem.verify(instance, runner.run(module, instance.data))
        assert verdict.feasible, verdict.reason
        runs.append(InstanceRun(instance, verdict, 0.001))
    return problem.aggregate(runs)


# --- spec and splits ---------------------------------------------------------------------------------


def test_spec_declares_gap_and_time_objectives_both_minimised(problem):
    assert [(o.name, o.direction, o.unit) for o in problem.objectives] == [
        ("gap", "min", "%"),
        ("time_ms", "min", "ms"),
    ]
    assert problem.spec.entry_point == "schedule"
    assert problem.seed_program().is_file()
    assert [p.name for p in problem.baselines()] == ["edd.py", "wspt.py", "wmdd.py", "atc.py"]
    assert all(p.is_file() for p in problem.baselines())


def test_splits_have_the_documented_sizes_and_classes(problem):
    smoke, train, test = (problem.instances(s) for s in ("smoke", "train", "test"))
    assert [len(i.data["p"]) for i in smoke] == [8, 8, 8]
    assert sorted(len(i.data["p"]) for i in train) == [20] * 25 + [50] * 25 + [100] * 25
    assert len({i.group for i in train}) == 75  # every TF/RDD class at every size
    assert sorted(len(i.data["p"]) for i in test) == [20] * 25 + [50] * 25 + [100] * 25
    assert len({i.group for i in test}) == 75


def test_splits_are_deterministic(problem):
    assert problem.instances("train") == problem.instances("train")


def test_splits_share_no_instance(problem):
    seen = [{str(i.data) for i in problem.instances(s)} for s in ("smoke", "train", "test")]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])


def test_unknown_split_is_a_problem_error(problem):
    with pytest.raises(ProblemError, match="unknown split 'validation'"):
        problem.instances("validation")


# --- verifier -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output, reason",
    [
        (None, "output must be a list of 3 job indices, got NoneType"),
        ({"0": 1}, "got dict"),
        ("012", "got str"),
        (3, "got int"),
        ([0, 1], "expected 3 jobs, got 2"),
        ([0, 1, 2, 2], "expected 3 jobs, got 4"),
        ([], "expected 3 jobs, got 0"),
        ([0, 1, 1], "job 1 appears twice"),
        ([2, 2, 2], "job 2 appears 3 times"),
        ([0, 1, 3], "index 3 out of range 0..2"),
        ([0, -1, 2], "index -1 out of range 0..2"),
        ([0, 10**5000, 2], "out of range 0..2"),
        ([0, float("nan"), 2], "element 1 is NaN, not a job index"),
        ([0, float("inf"), 2], "element 1 is inf, not a job index"),
        ([0, 1.0, 2], "element 1 is the float 1.0; job indices must be ints"),
        ([0, 1.5, 2], "element 1 is the float 1.5, not a job index"),
        ([True, 1, 2], "element 0 is the bool True, not a job index"),
        ([0, [1], 2], "element 1 is a list, not a job index"),
        ([0, "1", 2], "element 1 is a str, not a job index"),
        ([0, None, 2], "element 1 is a NoneType, not a job index"),
    ],
)
def test_verifier_rejects_bad_output_with_a_specific_reason(problem, output, reason):
    verdict = problem.verify(HAND, output)
    assert not verdict.feasible
    assert reason in verdict.reason
    assert verdict.values == {}


def test_verifier_reports_a_huge_index_without_printing_all_its_digits(problem):
    verdict = problem.verify(HAND, [0, 10**5000, 2])
    assert len(verdict.reason) < 200


def test_verifier_accepts_a_permutation_and_computes_the_hand_worked_tardiness(problem):
    # Order 1, 0, 2: job 1 ends at 2 (on time), job 0 at 5 (1 late, w 1), job 2 at 9 (3 late, w 3) -> 10.
    verdict = problem.verify(HAND, [1, 0, 2])
    assert verdict.feasible and verdict.reason == ""
    assert verdict.values["twt"] == 10
    # Order 1, 2, 0: ends 2, 6, 9 -> only job 0 late by 5 -> 5, the optimum of this instance.
    assert verdict.values["reference"] == 5
    assert problem.verify(HAND, [1, 2, 0]).values == {"twt": 5, "reference": 5}


# --- aggregation --------------------------------------------------------------------------------------


def _run(twt: float, reference: float, seconds: float = 0.01) -> InstanceRun:
    return InstanceRun(HAND, Verdict(True, {"twt": twt, "reference": reference}), seconds)


def test_aggregate_gap_is_relative_to_the_summed_references(problem):
    metrics = problem.aggregate([_run(110, 100, 0.002), _run(50, 50, 0.004)])
    assert metrics["gap"] == pytest.approx(100 * 10 / 150)
    assert metrics["time_ms"] == pytest.approx(3.0)
    assert (metrics["twt"], metrics["reference"], metrics["at_reference"]) == (160, 150, 0.5)


def test_aggregate_gap_stays_defined_when_every_reference_is_zero(problem):
    assert problem.aggregate([_run(0, 0), _run(0, 0)])["gap"] == 0
    assert problem.aggregate([_run(7, 0)])["gap"] == pytest.approx(700)


def test_aggregate_refuses_infeasible_or_empty_runs(problem):
    with pytest.raises(ProblemError):
        problem.aggregate([])
    with pytest.raises(ProblemError):
        problem.aggregate([InstanceRun(HAND, Verdict(False, reason="x"), 0.1)])


# --- references ---------------------------------------------------------------------------------------


def test_reference_of_a_small_instance_is_the_dp_optimum_even_when_a_value_is_supplied():
    supplied = Instance("x", "n3", HAND.data, reference=99, reference_kind="best-known")
    assert references.reference_for(supplied) == references.Reference(5.0, "optimum", "subset-dp")


def test_reference_of_a_large_instance_prefers_the_supplied_value():
    data = {"p": [1] * 30, "w": [1] * 30, "d": [0] * 30}
    supplied = Instance("x", "n30", data, reference=465, reference_kind="best-known")
    assert references.reference_for(supplied) == references.Reference(465.0, "best-known", "file")


def test_reference_of_a_large_instance_without_one_is_computed_not_optimal():
    data = {"p": list(range(1, 25)), "w": [2] * 24, "d": [30] * 24}
    reference = references.reference_for(Instance("x", "n24", data))
    assert (reference.kind, reference.source) == ("computed", "local-search")
    # Equal weights, common due date past the first job: SPT is optimal here.
    assert reference.value == total_weighted_tardiness(data["p"], data["w"], data["d"], list(range(24)))


def _counting_solver(monkeypatch) -> list[int]:
    calls = []
    real = references.exact.optimal_twt

    def counted(p, w, d):
        calls.append(1)
        return real(p, w, d)

    monkeypatch.setattr(references.exact, "optimal_twt", counted)
    return calls


def test_reference_cache_is_written_once_and_reused_across_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_CACHE_DIR", str(tmp_path))
    calls = _counting_solver(monkeypatch)
    instance = Instance("x", "n6", {"p": [4, 3, 7, 1, 2, 5], "w": [1, 2, 3, 1, 2, 3], "d": [3, 5, 9, 2, 8, 4]})
    first = references.reference_for(instance)
    assert references.reference_for(instance) == first
    assert len(calls) == 1
    assert (tmp_path / references.CACHE_FILE).is_file()
    monkeypatch.setattr(references, "_MEMO", {})  # as a fresh process would start
    assert references.reference_for(instance) == first
    assert len(calls) == 1


def test_reference_cache_keeps_entries_of_other_instances(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_CACHE_DIR", str(tmp_path))
    a = Instance("a", "n2", {"p": [2, 3], "w": [1, 1], "d": [0, 0]})
    b = Instance("b", "n2", {"p": [2, 3], "w": [1, 1], "d": [9, 0]})
    references.reference_for(a)
    references.reference_for(b)
    monkeypatch.setattr(references, "_MEMO", {})
    calls = _counting_solver(monkeypatch)
    references.reference_for(a)
    references.reference_for(b)
    assert calls == []


def test_corrupt_reference_cache_is_ignored_and_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_CACHE_DIR", str(tmp_path))
    (tmp_path / references.CACHE_FILE).write_text("{ not json")
    calls = _counting_solver(monkeypatch)
    assert references.reference_for(HAND).value == 5
    assert len(calls) == 1
    monkeypatch.setattr(references, "_MEMO", {})
    assert references.reference_for(HAND).value == 5
    assert len(calls) == 1


# --- runner -------------------------------------------------------------------------------------------


def test_runner_calls_schedule_with_plain_lists_and_returns_a_list():
    seen = []

    def schedule(p, w, d):
        seen.append((type(p), type(w), type(d)))
        return (2, 0, 1)

    assert runner.run(types.SimpleNamespace(schedule=schedule), HAND.data) == [2, 0, 1]
    assert seen == [(list, list, list)]


def test_runner_turns_numpy_results_into_python_data_without_coercing_elements():
    module = types.SimpleNamespace(schedule=lambda p, w, d: np.array([1.0, 0.0, 2.0]))
    assert runner.run(module, HAND.data) == [1.0, 0.0, 2.0]


def test_runner_passes_non_sequences_through_for_the_verifier_to_name():
    assert runner.run(types.SimpleNamespace(schedule=lambda p, w, d: None), HAND.data) is None


def test_runner_explains_a_missing_schedule_function():
    with pytest.raises(AttributeError, match=r"schedule\(p, w, d\)"):
        runner.run(types.SimpleNamespace(), HAND.data)


# --- seeds --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEEDS)
def test_seed_has_exactly_one_evolve_block_that_parses_on_its_own(problem, name):
    lines = (problem.seed_program().parent / name).read_text().splitlines()
    assert lines.count("# EVOLVE-BLOCK-START") == 1 and lines.count("# EVOLVE-BLOCK-END") == 1
    start, end = lines.index("# EVOLVE-BLOCK-START"), lines.index("# EVOLVE-BLOCK-END")
    block = ast.parse("\n".join(lines[start + 1 : end]))
    assert any(isinstance(node, ast.FunctionDef) and node.name == "priority" for node in block.body)


@pytest.mark.parametrize("name", SEEDS)
def test_seed_schedule_returns_a_valid_permutation(problem, name):
    module = _seed_module(problem, name)
    for instance in problem.instances("smoke") + problem.instances("test")[-3:] + [HAND]:
        assert problem.verify(instance, runner.run(module, instance.data)).feasible


def test_edd_and_wspt_give_the_known_orders_on_a_tiny_case(problem):
    p, w, d = [4, 1, 3, 2], [1, 4, 6, 1], [9, 7, 2, 7]
    assert _seed_module(problem, "edd.py").schedule(p, w, d) == [2, 1, 3, 0]  # due 2, 7 (tie: lower id), 7, 9
    assert _seed_module(problem, "wspt.py").schedule(p, w, d) == [1, 2, 3, 0]  # w/p = 4, 2, 0.5, 0.25


def test_seed_program_is_clearly_worse_than_atc_on_the_train_split(problem):
    seed_gap = _score(problem, "seed.py", "train")["gap"]
    atc_gap = _score(problem, "atc.py", "train")["gap"]
    assert math.isfinite(seed_gap) and seed_gap > 1.5 * atc_gap > 0


def test_the_n100_setting_holds_40_instances_of_100_jobs_in_every_class(problem):
    n100 = problem.instances("n100")
    assert problem.extra_splits() == ("n100",)
    assert len(n100) == 40 and {len(i.data["p"]) for i in n100} == {100}
    assert len({i.group for i in n100}) == 25
    others = {str(i.data) for s in ("smoke", "train", "test") for i in problem.instances(s)}
    assert not others & {str(i.data) for i in n100}


def test_every_generated_instance_above_the_dp_has_a_shipped_reference_equal_to_a_recomputation(problem):
    from problems.tardiness import exact

    shipped = references._shipped()
    large = [i for s in ("train", "test", "n100") for i in problem.instances(s) if len(i.data["p"]) > 20]
    assert len(large) == 140 and all(references.instance_key(i.data) in shipped for i in large)
    for instance in [i for i in large if len(i.data["p"]) == 50][:2]:  # the method is deterministic
        value, _ = exact.improved_reference(instance.data["p"], instance.data["w"], instance.data["d"])
        assert shipped[references.instance_key(instance.data)] == value


def test_a_reference_search_reaching_its_safety_stop_fails_loudly():
    from problems.tardiness import exact
    from problems.tardiness.instances import generate

    data = generate(100, 0.6, 0.4, 1)
    with pytest.raises(ProblemError, match="safety stop"):
        exact.improved_reference(data["p"], data["w"], data["d"], time_limit_s=0.0)


def test_reference_rows_are_named_by_what_they_are_not_all_called_bounds(problem):
    assert problem.bound_status("optimum") == "optimal"
    assert problem.bound_status("references (25 best-known)") == "best known"
    assert problem.bound_status("references (50 computed, 25 optimum)") == "optimal / upper bound"
    assert problem.bound_status("something else") == "bound"
