"""The omniscient dynamic program: equal to brute force over every action log of small scenarios."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from problems.spot.exact import optimum_cost, optimum_costs
from problems.spot.sim import Infeasible, Scenario, replay


def scenario(available, task_ticks, deadline_ticks, overhead=0.0, gap=600.0, prices=None, od=3.0) -> Scenario:
    """A scenario with one zone per availability string; times in ticks of ``gap`` seconds."""
    prices = prices or [1.0] * len(available)
    return Scenario.from_data(
        {
            "gap_seconds": gap,
            "task_hours": task_ticks * gap / 3600,
            "deadline_hours": deadline_ticks * gap / 3600,
            "overhead_hours": overhead / 3600,
            "on_demand_price": od,
            "zones": [
                {"name": f"z{k}", "available": a, "spot_price": p} for k, (a, p) in enumerate(zip(available, prices))
            ],
        }
    )


def brute_force(sc: Scenario) -> float:
    """The cheapest finished replay over every log of every length (prefixes that finish early stop there)."""
    best = math.inf
    codes = range(2 * sc.zones + 1)
    for length in range(1, sc.ticks + 1):
        for log in itertools.product(codes, repeat=length):
            try:
                outcome = replay(sc, list(log))
            except Infeasible:
                continue
            if outcome.finished:
                best = min(best, outcome.cost)
    return best


def test_all_available_costs_the_task_on_spot_plus_one_changeover():
    # 3 ticks of work, a 100 s changeover: 4 spot ticks at $1/h of 600 s.
    sc = scenario(["111111"], task_ticks=3, deadline_ticks=6, overhead=100.0)
    assert optimum_cost(sc) == pytest.approx(4 * 600 / 3600)


def test_without_spot_the_optimum_is_on_demand_only():
    sc = scenario(["000000"], task_ticks=3, deadline_ticks=6, overhead=100.0)
    assert optimum_cost(sc) == pytest.approx(4 * 3.0 * 600 / 3600)


def test_without_slack_the_optimum_runs_on_demand_from_the_first_tick():
    # Spot only after the deadline's last tick is useless; no slack means on-demand all along.
    sc = scenario(["0001"], task_ticks=3, deadline_ticks=3, overhead=0.0)
    assert optimum_cost(sc) == pytest.approx(3 * 3.0 * 600 / 3600)


def test_a_deadline_without_room_for_a_changeover_is_not_a_scenario():
    with pytest.raises(ValueError, match="no time for the job"):
        scenario(["0000"], task_ticks=3, deadline_ticks=3, overhead=10.0)


@pytest.mark.parametrize("seed", range(6))
def test_equals_brute_force_on_random_small_scenarios(seed):
    rng = random.Random(seed)
    zones = 1 if seed < 4 else 2
    for _ in range(12 if zones == 1 else 3):
        ticks = rng.randint(3, 7 if zones == 1 else 5)
        overhead = rng.choice([0.0, 72.0, 300.0, 600.0, 720.0, 1440.0, 720.0, 1440.0])
        task = rng.randint(1, max(1, ticks - 1 - int(overhead // 600)))  # leave room for changeovers
        deadline = ticks - rng.choice([0.0, 0.0, 0.25])  # sometimes a last tick cut short by the deadline
        available = ["".join(rng.choice("0111") for _ in range(ticks)) for _ in range(zones)]
        prices = [[rng.choice([0.5, 1.0, 1.5]) for _ in range(ticks)] for _ in range(zones)]
        try:
            sc = scenario(available, task, deadline, overhead, prices=prices)
        except ValueError:
            continue  # the deadline leaves no room for the changeover
        assert optimum_cost(sc) == pytest.approx(brute_force(sc), abs=1e-12), (available, task, deadline, overhead)


def test_batches_give_the_same_values_as_one_scenario_at_a_time():
    rng = random.Random(7)
    batch = [scenario(["".join(rng.choice("01") for _ in range(40))], 20, 30, 720.0) for _ in range(5)]
    assert optimum_costs(batch) == pytest.approx([optimum_cost(sc) for sc in batch])
