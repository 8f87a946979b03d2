"""The spot engine: its billing and changeover rules, simulate against replay, and the replay of forged logs."""

from __future__ import annotations

import math

import pytest

from problems.spot.sim import ActionError, Infeasible, Scenario, ScenarioError, on_demand_outcome, replay, simulate

HOUR = 3600.0


def scenario(*available: str, task=3.0, deadline=6.0, overhead=0.5, gap=HOUR, spot_price=1.0, od=3.0) -> Scenario:
    """Ticks of one hour by default, so that costs and times can be checked by hand (hours, $/h)."""
    zones = [{"name": f"z{k}", "available": a, "spot_price": spot_price} for k, a in enumerate(available)]
    return Scenario.from_data(
        {
            "gap_seconds": gap,
            "task_hours": task,
            "deadline_hours": deadline,
            "overhead_hours": overhead,
            "on_demand_price": od,
            "zones": zones,
        }
    )


def script(*actions):
    """A policy that plays the given actions in order."""
    moves = iter(actions)
    return lambda state: next(moves)


# --- the rules ---------------------------------------------------------------------------------------------


def test_on_demand_pays_the_changeover_once_and_every_tick_it_touches_in_full():
    # 0.5 h changeover + 3 h of work = 3.5 h: four billed ticks at $3, done half-way through the fourth.
    outcome = simulate(scenario("000000"), lambda s: "on_demand")
    assert outcome.log == [2, 2, 2, 2]
    assert outcome.cost == pytest.approx(12.0)
    assert outcome.finish_time == pytest.approx(3.5 * HOUR) and outcome.finished
    assert (outcome.on_demand_ticks, outcome.changeovers) == (4, 1)
    assert on_demand_outcome(scenario("000000")).cost == pytest.approx(12.0)


def test_a_changeover_longer_than_a_tick_is_paid_across_ticks_with_no_progress():
    # 1.5 h of changeover: tick 0 and half of tick 1 make nothing, then 3 h of work end at 4.5 h.
    outcome = simulate(scenario("000000", overhead=1.5), lambda s: "on_demand")
    assert outcome.finish_time == pytest.approx(4.5 * HOUR)
    assert outcome.cost == pytest.approx(5 * 3.0)


def test_a_preempted_spot_instance_is_lost_and_a_new_one_pays_the_changeover_again():
    sc = scenario("110111")
    seen = []

    def policy(state):
        seen.append((state.tick, state.instance, state.preempted, state.done / HOUR, state.owed))
        return "spot" if state.has_spot else "idle"

    outcome = simulate(sc, policy)
    # Ticks 0-1 make 0.5 + 1 h; tick 2 has no spot; ticks 3-4 make 0.5 + 1 h: done at the end of tick 4.
    assert outcome.log == [1, 1, 0, 1, 1]
    assert seen[2] == (2, "idle", True, 1.5, 0.0)
    assert seen[3][1:3] == ("idle", False)
    assert (outcome.preemptions, outcome.changeovers, outcome.spot_ticks) == (1, 2, 4)
    assert outcome.cost == pytest.approx(4.0) and outcome.finish_time == pytest.approx(5 * HOUR)


def test_switching_kind_or_zone_is_a_changeover_but_keeping_an_instance_is_not():
    sc = scenario("1111111", "1111111", task=2.0, deadline=7.0)
    moves = script("spot", ("spot", 1), ("on_demand", 1), "on_demand", "on_demand")
    outcome = simulate(sc, moves)
    # Three changeovers make 0.5 h each (spot z0, spot z1, on-demand z1); keeping on-demand makes the last 0.5 h.
    assert outcome.log == [1, 3, 4, 4]
    assert outcome.changeovers == 3
    assert outcome.finish_time == pytest.approx(3.5 * HOUR)
    assert outcome.cost == pytest.approx(1.0 + 1.0 + 2 * 3.0)


def test_idling_is_free_and_restarting_after_it_pays_the_changeover():
    outcome = simulate(scenario("111111"), script("spot", "idle", "spot", "spot", "spot", "spot"))
    assert outcome.log == [1, 0, 1, 1, 1]
    assert outcome.cost == pytest.approx(4.0) and outcome.changeovers == 2
    assert outcome.finish_time == pytest.approx(5 * HOUR)


def test_a_job_not_done_by_the_deadline_is_reported_unfinished():
    outcome = simulate(scenario("111111"), lambda s: "idle")
    assert not outcome.finished and outcome.finish_time is None
    assert len(outcome.log) == 6 and outcome.cost == 0.0


def test_a_last_tick_cut_by_the_deadline_only_counts_its_part():
    # Deadline 3.75 h: four ticks start before it and the last has 0.75 h. On-demand from tick 0 needs 3.5 h.
    assert simulate(scenario("0000", deadline=3.75), lambda s: "on_demand").finished
    # From tick 1, 2.5 h of work make 0.5 + 1 + 0.75 h by the deadline: short, though tick 3 is billed in full.
    late = simulate(scenario("0000", task=2.5, deadline=3.75), script("idle", "on_demand", "on_demand", "on_demand"))
    assert not late.finished and late.done == pytest.approx(2.25 * HOUR) and late.cost == pytest.approx(9.0)


def test_spot_is_unavailable_past_the_end_of_the_trace():
    sc = scenario("11", task=1.0, deadline=4.0)
    with pytest.raises(Infeasible, match="tick 2: spot in zone 0 .* is unavailable"):
        simulate(sc, script("idle", "idle", "spot"))


def test_the_state_shows_slack_owed_changeover_zone_and_history():
    sc = scenario("101", "011", task=1.0, deadline=3.0, overhead=0.25)
    states = []

    def policy(state):
        states.append((state.tick, state.slack / HOUR, state.owed / HOUR, state.has_spot, state.spot, state.zone))
        assert state.history == [(True, False), (False, True), (True, True)][: state.tick]
        state.memory["n"] = state.memory.get("n", 0) + 1
        return ("spot", 1) if state.tick == 1 else "idle"

    simulate(sc, policy)
    assert states[0] == (0, 2.0, 0.0, True, (True, False), 0)
    assert states[1] == (1, 1.0, 0.0, False, (False, True), 0)
    assert states[2] == (2, 0.75, 0.0, True, (True, True), 1)  # 0.75 h done in tick 1, zone now 1
    fresh = []
    simulate(sc, lambda s: fresh.append(dict(s.memory)) or "on_demand")
    assert fresh[0] == {}  # memory starts empty in every scenario


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("spotty", "unknown action 'spotty'"),
        (None, "decide returned None"),
        (("spot", 2), "zone 2 does not exist"),
        (("spot", True), "the zone must be an int"),
        (("spot", 0.0), "the zone must be an int"),
        (("spot",), "decide returned"),
        (7, "decide returned 7"),
    ],
)
def test_a_policy_returning_no_action_raises_action_error(action, message):
    with pytest.raises(ActionError, match=message):
        simulate(scenario("111111", "111111"), lambda s: action)


def test_scenario_data_is_validated():
    with pytest.raises(ScenarioError, match="string of 0 and 1"):
        scenario("1x1")
    with pytest.raises(ScenarioError, match="no time for the job"):
        scenario("111", task=3.0, deadline=3.0, overhead=0.1)
    with pytest.raises(ScenarioError, match="finite"):
        scenario("111", overhead=math.nan)
    with pytest.raises(ScenarioError, match="non-empty list"):
        Scenario.from_data({"gap_seconds": 60, "task_hours": 1, "deadline_hours": 2, "overhead_hours": 0,
                            "on_demand_price": 1, "zones": []})  # fmt: skip


# --- replay --------------------------------------------------------------------------------------------------


def test_replay_of_a_simulated_log_gives_the_same_outcome():
    sc = scenario("1101101111", "0110011011", task=5.0, deadline=10.0, overhead=0.4)

    def policy(state):
        zone = next((z for z in range(state.zones) if state.spot[z]), None)
        return ("spot", zone) if zone is not None and state.slack > 2 else "on_demand"

    simulated = simulate(sc, policy)
    assert replay(sc, simulated.log) == simulated


@pytest.mark.parametrize(
    ("log", "message"),
    [
        ([1, 1, 1], "tick 2: spot in zone 0 .* is unavailable"),  # forged: the trace has no spot at tick 2
        ([2, 2, 2, 2, 0], "the job was done in tick 3"),  # goes on after the job is done
        ([2] * 7, "only 6 ticks start before the deadline"),
        ([2, True], "tick 1: entry True is not an int"),
        ([2, 2.0], "tick 1: entry 2.0 is not an int"),
        ([2, float("nan")], "tick 1: entry nan is not an int"),
        ([2, "2"], "tick 1: entry '2' is not an int"),
        ([2, 3], "action code 3 is out of range"),
        ([-1], "out of range"),
        ({"log": [2]}, "must be a list of ints, got dict"),
        ("2222", "must be a list of ints, got str"),
        (None, "got NoneType"),
    ],
)
def test_replay_rejects_forged_and_malformed_logs(log, message):
    with pytest.raises(Infeasible, match=message):
        replay(scenario("110111"), log)


def test_replay_of_a_short_log_leaves_the_job_unfinished():
    outcome = replay(scenario("110111"), [2, 2])
    assert not outcome.finished and outcome.done == pytest.approx(1.5 * HOUR)
