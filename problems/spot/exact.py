"""The omniscient optimum of a spot scenario: an exact dynamic program with full knowledge of the trace.

The engine's rules (``problems/spot/sim.py``) give every maximal run of one instance (same kind, same zone,
never preempted) of ``L`` billed ticks exactly ``max(0, L * gap - overhead)`` seconds of progress. A run that
makes no progress only costs money, so an optimal schedule has none, and the program may count every run as
``L * gap - overhead`` even when that is negative: such a count never beats the real one, and the two agree on
the schedules worth having. That makes the state after a tick just (what runs, progress), with progress a
multiple of ``unit`` = gcd(gap, overhead, last tick's length, task) (24 s for the literature's grid).

For each tick, state and progress level the program keeps the least cost of having *at least* that progress
(so every table is non-decreasing in progress and a shift is a slice), with the job's progress capped at the
task. Levels from which the job can no longer finish by the deadline are dropped as ticks pass, so late ticks
cost little. Scenarios that share gap, task, deadline, overhead and zone count are solved together as one
numpy batch. The result is the cheapest finishing cost over all schedules; tests/spot/test_exact.py checks
it against brute force over every action sequence of small scenarios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from problems.spot.scenario import Scenario

# Above this many progress levels a scenario's timing is too fine to solve exactly in reasonable memory.
MAX_LEVELS = 2_000_000
_INF = np.inf


def optimum_costs(scenarios: Sequence[Scenario]) -> list[float]:
    """The least cost of finishing each scenario by its deadline (inf where no schedule can)."""
    results = [math.inf] * len(scenarios)
    batches: dict[tuple, list[int]] = {}
    for index, sc in enumerate(scenarios):
        batches.setdefault((sc.gap, sc.task, sc.deadline, sc.overhead, sc.zones), []).append(index)
    for members in batches.values():
        costs = _solve([scenarios[i] for i in members])
        for index, cost in zip(members, costs):
            results[index] = float(cost)
    return results


def optimum_cost(sc: Scenario) -> float:
    return optimum_costs([sc])[0]


def _millis(seconds: float) -> int:
    return int(round(seconds * 1000))


def _solve(batch: list[Scenario]) -> np.ndarray:
    """One batch of scenarios with equal timing; see the module docstring."""
    first = batch[0]
    ticks, zones = first.ticks, first.zones
    last = first.tick_length(ticks - 1)
    unit = math.gcd(math.gcd(_millis(first.gap), _millis(first.overhead)), math.gcd(_millis(last), _millis(first.task)))
    levels = _millis(first.task) // unit
    if levels > MAX_LEVELS:
        raise ValueError(f"the scenario's times need {levels} progress levels; at most {MAX_LEVELS} are solved")
    step, restart = _millis(first.gap) // unit, _millis(first.overhead) // unit
    offset = max(0, restart - step)  # a fresh run's first tick may count below zero progress (see docstring)
    width = offset + levels + 1
    size = len(batch)
    per_hour = first.gap / 3600.0
    available = np.array([sc.available for sc in batch], dtype=bool)  # (batch, tick, zone)
    spot_cost = np.array([sc.spot_prices for sc in batch], dtype=float) * per_hour
    od_cost = (np.array([sc.on_demand_price for sc in batch], dtype=float) * per_hour)[:, None]
    gains = [step] * (ticks - 1) + [_millis(last) // unit]
    left = np.concatenate([np.cumsum(gains[::-1])[::-1], [0]])  # left[t]: most progress ticks t.. can add
    idle = np.full((size, width), _INF)
    idle[:, : offset + 1] = 0.0  # nothing done yet: at least p for every p <= 0
    spot = np.full((size, zones, width), _INF)
    od = np.full((size, width), _INF)
    anything = np.full((size, width), _INF)
    best = np.full(size, _INF)
    reach = offset  # highest level any state holds so far
    for t in range(ticks):
        gain = gains[t]
        # Levels below `low` can no longer finish and are never read again; those above `high` are unreachable.
        low = max(0, offset + levels - int(left[t + 1]))
        high = min(width, reach + gain + 1)
        if low >= high:
            break
        a0, a1 = max(0, low - gain), min(width, max(high, high - gain + restart))
        np.minimum(idle[:, a0:a1], od[:, a0:a1], out=anything[:, a0:a1])
        for z in range(zones):
            np.minimum(anything[:, a0:a1], spot[:, z, a0:a1], out=anything[:, a0:a1])
        started = _levels(anything, low - gain + restart, high - low)  # a new instance of any kind, any zone
        new_od = np.minimum(_levels(od, low - gain, high - low), started)
        new_od += od_cost
        new_spot = [np.minimum(_levels(spot[:, z], low - gain, high - low), started) for z in range(zones)]
        idle[:, low:high] = anything[:, low:high]
        od[:, low:high] = new_od
        done = new_od[:, -1] if high == width else np.full(size, _INF)
        for z in range(zones):
            values = new_spot[z]
            values += spot_cost[:, t, z, None]
            values[~available[:, t, z]] = _INF
            spot[:, z, low:high] = values
            if high == width:
                done = np.minimum(done, values[:, -1])
        best = np.minimum(best, done)
        reach = high - 1
    return best


def _levels(table: np.ndarray, first: int, count: int) -> np.ndarray:
    """Levels ``first .. first + count - 1`` of ``table`` (last axis); a view where they all exist.

    Below level 0 a table holds what its level 0 holds (at least p <= 0 needs nothing more, see the module
    docstring); past its top nothing is reachable.
    """
    n = table.shape[-1]
    if first >= 0 and first + count <= n:
        return table[..., first : first + count]
    out = np.full(table.shape[:-1] + (count,), _INF)
    lo, hi = max(first, 0), min(first + count, n)
    if lo < hi:
        out[..., lo - first : hi - first] = table[..., lo:hi]
    if first < 0:
        out[..., : min(-first, count)] = table[..., :1]
    return out
