"""DistServe's capacity as an objective of `serving`: the highest arrival rate an instance's requests can come
at while at least 90% of them meet both SLOs.

Measured only when a run selects ``capacity`` (``Problem.select_objectives``): each instance is then evaluated at
every rate of a ladder (multipliers of its own rate; its time compressed or stretched, its requests and bursts
kept), each copy an instance of its own, simulated and verified like any other. An instance's capacity is where
its attainment crosses 90% going up the ladder, interpolated linearly between the last rung that meets it and
the first that does not; the top rung's rate when every rung meets it (a floor), and the bottom rung's rate scaled
by its attainment / 90% when none does. Trusted code: the candidate only ever sees one copy at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from problems.base import Instance, InstanceRun, ProblemError

TARGET = 0.9  # DistServe's attainment
LADDER = (0.5, 0.75, 1.0, 1.5, 2.0)  # the default `[options] capacity_ladder`: multipliers of an instance's rate


def check_ladder(ladder: Any) -> tuple[float, ...]:
    """The ladder as increasing positive floats holding 1.0 (an instance's own rate); ProblemError otherwise."""
    try:
        rungs = tuple(float(x) for x in ladder)
    except (TypeError, ValueError):
        raise ProblemError(f"serving: capacity_ladder must be a list of numbers, got {ladder!r}") from None
    if 1.0 not in rungs or any(x <= 0 for x in rungs) or list(rungs) != sorted(set(rungs)):
        raise ProblemError(f"serving: capacity_ladder must increase, be positive and hold 1.0, got {list(rungs)}")
    return rungs


def compressed(data: dict[str, Any], factor: float) -> dict[str, Any]:
    """Instance data whose arrivals come ``factor`` times as fast; the drain time after the window is kept."""
    data = dict(data)
    drain = data["horizon"] - data["duration"]
    data["arrivals"] = [t / factor for t in data["arrivals"]]
    data["duration"] = data["duration"] / factor
    data["horizon"] = data["duration"] + drain
    return data


def ladder(instances: Sequence[Instance], rungs: Sequence[float]) -> list[Instance]:
    """A copy of every instance at each rung of the ladder, named ``<id>@<rung>x``, in the instance's group."""
    return [
        replace(i, id=f"{i.id}@{rung:g}x", data=compressed(i.data, rung), rung=rung, base=i.id)
        for i in instances
        for rung in rungs
    ]


def instance_capacity(copies: Sequence[InstanceRun]) -> float:
    """The capacity of one instance from the runs of its copies (see the module's docstring)."""
    points = sorted(
        (len(r.instance.data["arrivals"]) / r.instance.data["duration"], r.verdict.values["attainment"]) for r in copies
    )
    previous = None
    for rate, attained in points:
        if attained < TARGET:
            if previous is None:
                return rate * attained / TARGET
            low_rate, low_attained = previous
            return low_rate + (rate - low_rate) * (low_attained - TARGET) / (low_attained - attained)
        previous = (rate, attained)
    return points[-1][0]


def mean_capacity(copies: Sequence[InstanceRun]) -> float:
    """The mean over instances of their capacity, each from its own copies."""
    by_base: dict[str, list[InstanceRun]] = {}
    for run in copies:
        by_base.setdefault(run.instance.base, []).append(run)
    return sum(instance_capacity(runs) for runs in by_base.values()) / len(by_base)
