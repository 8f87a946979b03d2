"""Where the published Can't Be Late figures come from: the grid under the reference simulator's loop.

Usage: python benchmarks/bench_spot_reference.py

The published means (greedy $96.52, Uniform Progress $94.68 with 21 late finishes) were produced by a simulator
that does not check the deadline. This script replays its flow as documented in docs/spot.md, on the same
traces and windows as `benchmarks/bench_spot.py`, to show which difference in rules accounts for which
difference in figures. Per tick: the progress of the previous tick is booked (gap minus the changeover still
owed); the policy decides; the simulator's own guarantee overrides it once ``ceil((remaining + d) / gap)``
ticks no longer fit in ``floor((deadline - t) / gap)`` (on-demand, or keep a spot instance that is running with
its changeover paid); spot without availability becomes idling; a change of instance owes a fresh changeover.
The run ends when the work is done, however late. Not part of the problem: adrs's own engine enforces the
deadline and rejects spot without availability.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_spot import CELLS  # noqa: E402

from problems.spot.grid import LITERATURE_ENVIRONMENTS, LITERATURE_STARTS, Grid, TraceSource, expand  # noqa: E402
from problems.spot.sim import Scenario  # noqa: E402
from problems.spot.traces import traces_dir  # noqa: E402

IDLE, SPOT, OD = 0, 1, 2


def reference_run(sc: Scenario, policy) -> tuple[float, float]:
    """(cost, finish time in seconds) of one scenario under the reference loop (single zone)."""
    gap, d, task, deadline = sc.gap, sc.overhead, sc.task, sc.deadline
    price = {SPOT: sc.spot_prices[0][0] * gap / 3600, OD: sc.on_demand_price * gap / 3600, IDLE: 0.0}
    running, owed, done, cost, memory = IDLE, 0.0, 0.0, 0.0, {}
    for t in range(10 * sc.ticks):
        has_spot = sc.available[t][0] if t < sc.ticks else False
        last = running
        if last != IDLE:  # book the tick that just ended
            cost += price[last]
            work = max(gap - owed, 0.0)
            owed = max(owed - gap, 0.0)
            if done + work >= task - 1e-6:
                return cost, (t - 1) * gap + (task - done) + (gap - work)
            done += work
        current = IDLE if last == SPOT and not has_spot else last
        action = policy(t * gap, done, current, has_spot, sc, memory)
        left = math.floor((deadline - t * gap) / gap) * gap
        if math.ceil((task - done + d) / gap) * gap >= left:  # the simulator's own guarantee
            action = SPOT if last == SPOT and owed < 1e-3 else OD
        if action == SPOT and not has_spot:
            action = IDLE
        if action != IDLE and action != current:
            owed = d
        running = action
    raise RuntimeError("the reference loop never finished")


def paper_up(elapsed, done, current, has_spot, sc, memory):
    """Uniform Progress with the paper's net: idle and slack < 2d."""
    if memory.get("net"):
        return OD
    slack = sc.deadline - elapsed - (sc.task - done)
    if current == IDLE and slack < 2 * sc.overhead:
        memory["net"] = True
        return OD
    if has_spot:
        return SPOT
    pace = sc.task / sc.deadline
    if current == OD and done < pace * (elapsed + 2 * sc.overhead):
        return OD
    return OD if done < pace * elapsed else IDLE


def spot_or_idle(elapsed, done, current, has_spot, sc, memory):
    """Greedy with nothing of its own near the deadline: the simulator's guarantee is its only net."""
    return SPOT if has_spot else IDLE


def main() -> None:
    folder = traces_dir()
    if folder is None:
        raise SystemExit("bench_spot_reference: the SkyPilot traces are not in ../shared/data/spot-traces")
    grid = Grid(LITERATURE_ENVIRONMENTS, LITERATURE_STARTS, 554, (52.0, 70.0, 92.0), (0.02, 0.2, 0.4))
    scenarios = [Scenario.from_data(data) for _, data, _ in expand(grid, TraceSource(folder, {}))]
    for name, policy in (("Uniform Progress (paper's net)", paper_up), ("spot or idle", spot_or_idle)):
        sums: dict[tuple[float, float], list[float]] = {}
        late = 0
        for sc in scenarios:
            cost, finish = reference_run(sc, policy)
            late += finish > sc.deadline + 1e-6
            sums.setdefault((sc.deadline / 3600, round(sc.overhead / 3600, 4)), []).append(cost)
        means = [sum(sums[c]) / len(sums[c]) for c in CELLS]
        print(f"{name}: mean ${sum(means) / len(means):.2f}, {late} late; cells " + " ".join(f"{m:.2f}" for m in means))


if __name__ == "__main__":
    main()
