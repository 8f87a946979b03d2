"""One scenario of deadline-aware spot scheduling: a job, a deadline, a changeover delay and K zones' traces.

Standard library only: the sandbox's runner builds it from the instance data, and so does the trusted verifier.
Times are seconds (exact integers for the literature's grid, so ties break the same way everywhere); prices are
dollars per hour. The instance data is plain JSON:

    {"gap_seconds": 600, "task_hours": 48, "deadline_hours": 52, "overhead_hours": 0.2,
     "on_demand_price": 3.06,
     "zones": [{"name": "us-west-2a_k80_1", "available": "1101...", "spot_price": 0.9731}, ...]}

``available[t]`` is "1" when a spot instance can be had in tick t; ticks past the string's end have none.
``spot_price`` is one price or one price per tick (ticks past the list's end keep its last price).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Scenario", "ScenarioError"]

# Times are compared with this tolerance (seconds): hours given as decimals (0.07 h) are not exact in binary.
EPSILON = 1e-6


class ScenarioError(ValueError):
    """Instance data that does not describe a scenario (a bug in a loader, or a user's malformed file)."""


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; build it with ``from_data``.

    Attributes:
        gap: length of a tick in seconds (the trace's resolution); an instance is billed per whole tick.
        task: compute the job needs, in seconds.
        deadline: seconds from the start by which the job must be done.
        overhead: changeover delay in seconds, paid (billed, without progress) by every new instance.
        on_demand_price: dollars per hour of an on-demand instance, in every zone.
        zone_names: one name per zone, for messages.
        available: per tick (``ticks`` of them), a tuple of one bool per zone: whether spot can be had.
        spot_prices: per tick, a tuple of one spot price per zone (dollars per hour).
        ticks: ticks that start before the deadline; the last one may be cut short by it.
    """

    gap: float
    task: float
    deadline: float
    overhead: float
    on_demand_price: float
    zone_names: tuple[str, ...]
    available: tuple[tuple[bool, ...], ...]
    spot_prices: tuple[tuple[float, ...], ...]
    ticks: int

    @property
    def zones(self) -> int:
        return len(self.zone_names)

    def tick_length(self, t: int) -> float:
        """Seconds of tick ``t`` before the deadline (the last tick may be shorter than ``gap``)."""
        return min(self.gap, self.deadline - t * self.gap)

    @classmethod
    def from_data(cls, data: Any) -> Scenario:
        """Validate instance data; ScenarioError with the first problem found."""
        if not isinstance(data, dict):
            raise ScenarioError(f"a scenario is a JSON object, not {type(data).__name__}")
        gap = _positive(data, "gap_seconds")
        task = _positive(data, "task_hours") * 3600.0
        deadline = _positive(data, "deadline_hours") * 3600.0
        overhead = _number(data, "overhead_hours", minimum=0.0) * 3600.0
        od_price = _number(data, "on_demand_price", minimum=0.0)
        # Whole seconds when the hours allow it (0.07 h * 3600 is 252.00000000000003): exact sums, exact ties.
        task, deadline, overhead = (_snapped(x) for x in (task, deadline, overhead))
        if deadline < task + overhead - EPSILON:
            raise ScenarioError(
                f"the deadline ({deadline / 3600:g} h) leaves no time for the job ({task / 3600:g} h) and one "
                f"changeover ({overhead / 3600:g} h)"
            )
        zones = data.get("zones")
        if not isinstance(zones, list) or not zones:
            raise ScenarioError("'zones' must be a non-empty list of {name, available, spot_price} objects")
        ticks = max(1, math.ceil(deadline / gap - EPSILON))
        names, columns, prices = [], [], []
        for k, zone in enumerate(zones):
            if not isinstance(zone, dict):
                raise ScenarioError(f"zone {k} is not an object")
            name = zone.get("name", f"zone{k}")
            available = zone.get("available")
            if not isinstance(available, str) or available.strip("01"):
                raise ScenarioError(f"zone {k} ('available') must be a string of 0 and 1, one per tick")
            names.append(str(name))
            columns.append(available[:ticks].ljust(ticks, "0"))  # no spot past the trace's end
            prices.append(_zone_prices(zone.get("spot_price"), k, ticks))
        return cls(
            gap=gap,
            task=task,
            deadline=deadline,
            overhead=overhead,
            on_demand_price=od_price,
            zone_names=tuple(names),
            available=tuple(availability(text) for text in map("".join, zip(*columns))),
            spot_prices=tuple(zip(*prices)),
            ticks=ticks,
        )


def availability(text: str) -> tuple[bool, ...]:
    """One tick's availability per zone from its text (``"101"``); the tuples are shared, made once each."""
    flags = _FLAGS.get(text)
    if flags is None:
        flags = _FLAGS[text] = tuple(flag == "1" for flag in text)
        _TEXTS[flags] = text
    return flags


def availability_text(flags: tuple[bool, ...]) -> str:
    """The text of an ``availability`` tuple."""
    text = _TEXTS.get(flags)
    return text if text is not None else "".join("1" if flag else "0" for flag in flags)


_FLAGS: dict[str, tuple[bool, ...]] = {}
_TEXTS: dict[tuple[bool, ...], str] = {}


def _snapped(seconds: float) -> float:
    nearest = round(seconds)
    return float(nearest) if abs(seconds - nearest) < EPSILON else seconds


def _number(data: dict, key: str, minimum: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(f"'{key}' must be a finite number, got {value!r}")
    if value < minimum:
        raise ScenarioError(f"'{key}' must be at least {minimum:g}, got {value!r}")
    return float(value)


def _positive(data: dict, key: str) -> float:
    value = _number(data, key, minimum=0.0)
    if value <= 0:
        raise ScenarioError(f"'{key}' must be positive, got {value!r}")
    return value


def _zone_prices(raw: Any, k: int, ticks: int) -> list[float]:
    """One spot price per tick: a constant, or a list whose last price holds past its end."""
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise ScenarioError(f"zone {k}: 'spot_price' is an empty list")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ScenarioError(f"zone {k}: spot prices must be finite non-negative numbers, got {value!r}")
    return [float(values[min(t, len(values) - 1)]) for t in range(ticks)]
