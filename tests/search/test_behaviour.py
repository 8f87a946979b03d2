"""Behavioural duplicates: a child that does what its parent does never reaches the frontier by timing noise."""

from __future__ import annotations

from evaluators.evaluator import EvaluationResult
from evolve.archive.store import EvaluationRecord
from evolve.search.behaviour import BehaviourCheck, output_digests
from problems.base import Objective

GAP = Objective("gap", "min")
TIME = Objective("time_ms", "min", measured=True)


def train(time_ms: float, digests=("a1", "b2", "c3"), gap: float = 2.0) -> EvaluationResult:
    per_instance = [{"id": f"train-{i}", "output_digest": d} for i, d in enumerate(digests)]
    return EvaluationResult("train", "ok", {"gap": gap, "time_ms": time_ms}, per_instance=per_instance)


def stored(result: EvaluationResult) -> EvaluationRecord:
    return EvaluationRecord("train", "ok", result.metrics, {}, result.per_instance, "", 0.0)


class Retimer:
    """Answers the paired re-measurements: parent and child alternate, each taking its next scripted time."""

    def __init__(self, parent_times, child_times):
        self.times = {"parent": list(parent_times), "child": list(child_times)}
        self.asked: list[list[str]] = []

    def __call__(self, codes, split):
        assert split == "train"
        self.asked.append(list(codes))
        return [train(self.times[code].pop(0)) for code in codes]


def test_a_no_op_child_timed_faster_by_noise_is_a_duplicate():
    # The numbers: the same code timed 0.59 ms as a child and 1.03 ms as its parent.
    retimer = Retimer(parent_times=[0.8, 1.1, 0.7], child_times=[0.9, 0.75, 1.0])
    check = BehaviourCheck([GAP, TIME], retimer)
    result = check.judge("child", train(0.59), "parent", stored(train(1.03)))
    assert result is not None and result.status == "duplicate" and not result.ok
    assert "time_ms not better in paired runs" in result.feedback
    assert retimer.asked == [["parent", "child"] * 3]  # side by side, alternately


def test_a_no_op_child_within_noise_is_a_duplicate_without_re_timing():
    retimer = Retimer([], [])
    result = BehaviourCheck([GAP, TIME], retimer).judge("child", train(0.98), "parent", stored(train(1.03)))
    assert result.status == "duplicate" and "within noise" in result.feedback
    assert retimer.asked == []


def test_a_duplicate_is_kept_only_when_every_paired_run_confirms_it_faster():
    retimer = Retimer(parent_times=[1.0, 1.1, 1.05], child_times=[0.5, 0.55, 0.52])
    result = BehaviourCheck([GAP, TIME], retimer).judge("child", train(0.5), "parent", stored(train(1.03)))
    assert result.ok and "faster in 3 paired runs" in result.feedback
    # One paired run where the child is not faster than the parent's fastest: not confirmed.
    retimer = Retimer(parent_times=[1.0, 1.1, 0.6], child_times=[0.5, 0.55, 0.7])
    result = BehaviourCheck([GAP, TIME], retimer).judge("child", train(0.5), "parent", stored(train(1.03)))
    assert result.status == "duplicate"


def test_without_a_measured_objective_equal_outputs_are_always_a_duplicate():
    retimer = Retimer([], [])
    result = BehaviourCheck([GAP], retimer).judge("child", train(0.1), "parent", stored(train(5.0)))
    assert result.status == "duplicate" and retimer.asked == []


def test_a_child_with_any_different_output_is_no_duplicate():
    retimer = Retimer([], [])
    child = train(0.59, digests=("a1", "b2", "zz"))
    assert BehaviourCheck([GAP, TIME], retimer).judge("child", child, "parent", stored(train(1.03))) is None


def test_evaluations_without_digests_compare_as_unknown_not_equal():
    old = EvaluationRecord("train", "ok", {"gap": 1.0}, {}, [{"id": "train-0"}], "", 0.0)
    assert output_digests(old) is None
    failed = EvaluationResult("train", "error", per_instance=[{"id": "x", "output_digest": "a"}])
    assert output_digests(failed) is None
    result = BehaviourCheck([GAP, TIME], Retimer([], [])).judge("child", train(0.5), "parent", old)
    assert result is None
