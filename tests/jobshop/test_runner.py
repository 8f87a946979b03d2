"""The Giffler-Thompson scheme (problems/jobshop/shop.py) and the lockstep runner (runner.py, views.py): the
conflict set, one clear line for a choice outside it, the schedule checker, and what a rule sees."""

from __future__ import annotations

import types

import pytest

from evaluators.lockstep import play_locally
from problems.base import PolicyError
from problems.jobshop import instances, runner
from problems.jobshop.shop import Infeasible, Shop, replay, schedule_error

# Job 0: machine 0 for 3, then machine 1 for 2. Job 1: machine 0 for 2, then 1 for 4. Job 2: machine 1 for 5.
JOBS = [[[0, 3], [1, 2]], [[0, 2], [1, 4]], [[1, 5]]]


def rule(function) -> types.ModuleType:
    module = types.ModuleType("rule")
    module.priority = function
    return module


def test_the_conflict_set_holds_the_operations_that_could_start_before_the_earliest_completion():
    shop = Shop(JOBS, 2)
    # earliest completions: job 0 at 3, job 1 at 2 (machine 0), job 2 at 5: c* = 2 on machine 0
    assert shop.conflict_set() == ([0, 1], 0, 2)
    shop.schedule(0)  # job 0 on machine 0 during [0, 3)
    # job 1 can start on machine 0 at 3 (ends 5), job 0's second operation at 3 (ends 5), job 2 at 0 (ends 5)
    assert shop.conflict_set() == ([0, 2], 1, 5)


def test_replay_rejects_a_choice_outside_the_conflict_set_with_one_line():
    with pytest.raises(
        Infeasible,
        match=r"decision 0: job 2 is not a candidate \(the conflict set on machine 0 "
        r"before time 2 is jobs \[0, 1\]\)",
    ):
        replay(JOBS, 2, [2, 0, 1, 0, 1])


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        ("0 1 2", "expected a list of 5 job indices, got '0 1 2'"),
        ([0, 2, 1, 1], "the log schedules 4 of 5 operations"),
        ([0, 2, 1, 0, 1, 1], "decision 5: every operation is already scheduled, but the log goes on"),
        ([0, True, 1, 0, 1], "decision 1: expected a job index (int), got True"),
        ([0, 2.0, 1, 0, 1], "decision 1: expected a job index (int), got 2.0"),
        ([0, 2, 7, 0, 1], "decision 2: job 7 is not a candidate"),
        ([0, 2, -1, 0, 1], "decision 2: job -1 is not a candidate"),
        ([0, 2, 10**30, 0, 1], "decision 2: job a huge int is not a candidate"),
        ([0, 2, None, 0, 1], "decision 2: expected a job index (int), got None"),
    ],
)
def test_a_forged_log_is_refused_with_the_first_fault(log, reason):
    with pytest.raises(Infeasible) as caught:
        replay(JOBS, 2, log)
    assert str(caught.value).startswith(reason) and "\n" not in str(caught.value)


def test_replay_builds_the_active_schedule_of_its_choices():
    shop = replay(JOBS, 2, [0, 2, 1, 0, 1])
    assert shop.starts == [[0, 5], [3, 7], [0]] and shop.makespan() == 11
    assert not schedule_error(JOBS, 2, shop.starts)


@pytest.mark.parametrize(
    ("starts", "reason"),
    [
        ([[0, 2], [3, 7], [0]], "precedence: job 0 operation 1 starts at 2, before its predecessor ends (3)"),
        ([[0, 5], [2, 7], [0]], "capacity: machine 0 runs job 0 operation 0 until 3 and job 1 operation 0 from 2"),
        ([[0, 5], [3, 7], [1]], "capacity: machine 1 runs job 2 operation 0 until 6 and job 0 operation 1 from 5"),
        ([[0, 5], [3], [0]], "the schedule does not give one start per operation"),
        ([[-1, 5], [3, 7], [0]], "precedence: job 0 operation 0 starts at -1"),
    ],
)
def test_the_schedule_checker_catches_precedence_and_capacity_violations(starts, reason):
    assert schedule_error(JOBS, 2, starts).startswith(reason)


def test_the_driver_turns_a_non_candidate_answer_into_one_policy_error_line():
    driver = runner.drive({"jobs": JOBS, "machines": 2})
    assert next(driver) == {"jobs": JOBS, "machines": 2}
    with pytest.raises(PolicyError, match=r"^decision 0: job 2 is not a candidate \(the conflict set") as caught:
        driver.send([2, 0, 1, 0, 1])
    assert "\n" not in str(caught.value)


def test_a_rule_sees_the_conflict_set_with_its_features_and_the_highest_value_wins():
    seen = []

    def spy(op, shop):
        seen.append(
            (
                shop.done,
                op.job,
                op.index,
                op.machine,
                op.duration,
                op.earliest_start,
                op.work_remaining,
                op.ops_remaining,
                op.work_done,
                op.next_duration,
                op.next_machine,
                op.machine_load,
                shop.time,
                shop.completion,
            )
        )
        return op.duration  # LPT

    log = play_locally(runner, rule(spy), {"jobs": JOBS, "machines": 2})
    # LPT: job 0 before job 1 on machine 0, job 2 before job 0 on machine 1, job 1 (forced) on machine 0, then
    # job 1 before job 0 on machine 1; the forced choices call nothing
    assert log == [0, 2, 1, 1, 0] and len(seen) == 6
    # first decision: jobs 0 and 1 on machine 0, both free at 0; machine 0 holds 5 units of work
    assert seen[:2] == [(0, 0, 0, 0, 3, 0, 5, 2, 0, 2, 1, 5, 0, 2), (0, 1, 0, 0, 2, 0, 6, 2, 0, 4, 1, 5, 0, 2)]
    assert replay(JOBS, 2, log).makespan() == 11


def test_ties_go_to_the_first_operation_and_the_memory_lasts_one_instance():
    calls = []

    def tied(op, shop):
        shop.memory["calls"] = shop.memory.get("calls", 0) + 1
        calls.append(shop.memory["calls"])
        return 1.0

    log = play_locally(runner, rule(tied), {"jobs": JOBS, "machines": 2})
    assert log == [0, 0, 1, 1, 2]  # every tie to the lowest job
    assert calls == list(range(1, len(calls) + 1))


@pytest.mark.parametrize("value", [None, "1", float("nan"), float("inf"), True, [1]])
def test_a_priority_that_is_no_finite_number_ends_the_instance_with_one_line(value):
    with pytest.raises(ValueError, match=r"priority\(op, shop\) must return a finite int or float, got"):
        play_locally(runner, rule(lambda op, shop: value), {"jobs": JOBS, "machines": 2})


def test_a_candidate_that_tampers_with_its_own_half_cannot_slip_a_non_candidate_past_the_driver(monkeypatch):
    # Hostile code in the candidate's process may rewrite the runner it was imported beside: the log it sends
    # is still checked, choice by choice, on the driver's own shop.
    monkeypatch.setattr(runner, "schedule", lambda jobs, machines, priority: [2, 2, 2, 2, 2])
    with pytest.raises(PolicyError, match="decision 0: job 2 is not a candidate"):
        play_locally(runner, rule(lambda op, shop: 0), {"jobs": JOBS, "machines": 2})


def test_a_candidate_without_priority_is_told_what_to_define():
    with pytest.raises(AttributeError, match=r"candidate defines no function priority\(op, shop\)"):
        play_locally(runner, types.ModuleType("empty"), {"jobs": JOBS, "machines": 2})


def test_every_rule_builds_a_complete_active_schedule_on_a_generated_shop():
    data = {"jobs": instances.generate(8, 5, 11, 12), "machines": 5}
    log = play_locally(runner, rule(lambda op, shop: -op.job_ready), data)
    shop = replay(data["jobs"], 5, log)
    assert shop.finished() and len(log) == 40 and not schedule_error(data["jobs"], 5, shop.starts)
