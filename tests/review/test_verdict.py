"""The run's verdict against the best baseline: one line per objective, train and held-out test."""

from __future__ import annotations

from evolve.archive.store import EvaluationRecord, ProgramRecord
from evolve.review.verdict import verdict_lines
from problems.base import Objective

GAP = Objective("gap", "min", "%")
GOODPUT = Objective("goodput", "max", "req/s")


def _program(program_id: int, train: dict, test: dict | None = None) -> ProgramRecord:
    evaluations = {"train": EvaluationRecord("train", "ok", train, {}, [], "", 0)}
    if test is not None:
        evaluations["test"] = EvaluationRecord("test", "ok", test, {}, [], "", 0)
    return ProgramRecord(program_id, 1, "", str(program_id), (), 0, 0, 0, "genetic", None, "", evaluations)


def _baseline(train: dict, test: dict, status: str = "ok") -> dict:
    return {"train": {"status": status, "metrics": train}, "test": {"status": status, "metrics": test}}


BASELINES = {
    "mdd": _baseline({"gap": 1.75}, {"gap": 1.65}),
    "atc": _baseline({"gap": 3.0}, {"gap": 1.5}),  # worse on train, better on test
    "broken": _baseline({"gap": 0.1}, {"gap": 0.1}, status="error"),  # a failed baseline is no yardstick
}


def test_a_program_beating_the_best_baseline_of_each_split_is_said_to_beat_them_with_the_margins():
    frontier = [_program(7, {"gap": 1.5}, {"gap": 1.4}), _program(8, {"gap": 1.6}, {"gap": 1.0})]
    [line] = verdict_lines(frontier, [GAP], BASELINES)
    # program 7 is the frontier's best on train; test is only reported, never used to choose
    assert line.startswith("gap: program 7 beats the best baseline (mdd / atc)")
    assert "train: 1.5 against mdd's 1.75, +0.25 points (+14.3%)" in line
    assert "test: 1.4 against atc's 1.5, +0.1 points (+6.7%)" in line


def test_a_program_that_wins_on_train_but_loses_on_test_does_not_beat_the_baseline():
    [line] = verdict_lines([_program(3, {"gap": 1.7}, {"gap": 1.6})], [GAP], BASELINES)
    assert line.startswith("gap: program 3 does not beat mdd / atc")
    assert "-0.1 points" in line


def test_maximised_objectives_count_a_larger_value_as_ahead_and_missing_scores_are_said():
    baselines = {"slo_aware": _baseline({"goodput": 6.8}, {"goodput": 6.0})}
    [line] = verdict_lines([_program(4, {"goodput": 7.0}, {"goodput": 6.3})], [GOODPUT], baselines)
    assert line.startswith("goodput: program 4 beats the best baseline (slo_aware)") and "+0.3 req/s (+5.0%)" in line
    [untested] = verdict_lines([_program(4, {"goodput": 7.0})], [GOODPUT], baselines)
    assert "does not beat slo_aware" in untested and "test: not scored" in untested
    [none] = verdict_lines([_program(4, {"goodput": 7.0})], [GOODPUT], {})
    assert none == "goodput: no baseline was scored on train and test, so there is nothing to beat"


def test_a_baseline_leading_the_frontier_is_named_as_the_best_program_found():
    mdd = _program(5, {"gap": 1.75}, {"gap": 1.65})
    mdd = ProgramRecord(5, 1, "", "5", (), 0, 0, 0, "baseline", None, "baseline mdd", mdd.evaluations)
    [line] = verdict_lines([mdd, _program(9, {"gap": 1.8}, {"gap": 1.2})], [GAP], BASELINES)
    assert line == "gap: does not beat mdd (the best program on train is mdd itself)"
