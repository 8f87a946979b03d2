"""Spot availability traces in the SkyPilot format, and where to find them.

The format of `skypilot-org/spot-traces` is ``{"metadata": {"gap_seconds": 600}, "data": [...]}`` with one value
per tick. Two conventions exist and nothing in a file says which one it follows, so every loader call names it:

- ``available``: the value counts available instances (SkyPilot's own traces: 1 = spot can be had, 0 = not);
- ``preempted``: 1 = preempted / unavailable, 0 = available (the inverse, used by some simulators' copies).

A trace becomes a string of "0" and "1" (1 = available), the form the instance data carries. A file may also
hold ``"prices"``: the spot price in dollars per hour at each tick (one per value of ``data``), which then
replaces the scenario's fixed spot price for that zone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from problems.base import ProblemError

Convention = Literal["available", "preempted"]
CONVENTIONS: tuple[str, ...] = ("available", "preempted")
# Where the project's tests and splits look for the public traces: beside the checkout, never inside it.
TRACES_ENV = "ADRS_SPOT_TRACES"
DEFAULT_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spot-traces" / "skypilot-1node-2022"


@dataclass(frozen=True)
class Trace:
    """One zone's availability over time.

    Attributes:
        name: the file's stem (e.g. ``us-west-2a_k80_1``).
        gap_seconds: length of a tick.
        available: one character per tick, "1" when a spot instance can be had.
    """

    name: str
    gap_seconds: float
    available: str
    prices: tuple[float, ...] | None = None  # dollars per hour at each tick, when the file gives them

    @property
    def ticks(self) -> int:
        return len(self.available)

    def window(self, start: int, length: int) -> str:
        """Ticks ``[start, start + length)``; shorter where the trace ends (later ticks count as unavailable)."""
        return self.available[start : start + length]


def parse_trace(raw: object, name: str, convention: str) -> Trace:
    """A trace from parsed JSON; ProblemError naming the first problem."""
    if convention not in CONVENTIONS:
        raise ProblemError(f"unknown trace convention {convention!r}; choose one of {', '.join(CONVENTIONS)}")
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list) or not isinstance(raw.get("metadata"), dict):
        raise ProblemError(f"{name}: not a SkyPilot spot trace ({{'metadata': {{'gap_seconds'}}, 'data': [...]}})")
    gap = raw["metadata"].get("gap_seconds")
    if isinstance(gap, bool) or not isinstance(gap, (int, float)) or not gap > 0 or gap != gap:
        raise ProblemError(f"{name}: metadata.gap_seconds must be a positive number, got {gap!r}")
    values = raw["data"]
    if not values:
        raise ProblemError(f"{name}: the trace has no data")
    bad = next((v for v in values if isinstance(v, bool) or not isinstance(v, int) or v < 0), None)
    if bad is not None:
        raise ProblemError(f"{name}: trace values must be non-negative ints, found {bad!r}")
    if convention == "preempted" and any(v > 1 for v in values):
        raise ProblemError(f"{name}: a 'preempted' trace holds only 0 and 1; this one counts instances")
    up = (lambda v: v > 0) if convention == "available" else (lambda v: v == 0)
    return Trace(name, float(gap), "".join("1" if up(v) else "0" for v in values), _prices(raw, name, len(values)))


def _prices(raw: dict, name: str, ticks: int) -> tuple[float, ...] | None:
    prices = raw.get("prices")
    if prices is None:
        return None
    if not isinstance(prices, list) or len(prices) != ticks:
        raise ProblemError(f"{name}: 'prices' must be a list of one spot price ($/h) per tick ({ticks})")
    bad = next((p for p in prices if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1e9), None)
    if bad is not None:
        raise ProblemError(f"{name}: spot prices must be non-negative numbers of dollars per hour, found {bad!r}")
    return tuple(float(p) for p in prices)


def load_trace(path: Path, convention: Convention) -> Trace:
    """One trace file read with the named convention."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProblemError(f"{path}: cannot read a spot trace ({exc})") from None
    return parse_trace(raw, path.stem, convention)


def load_trace_dir(folder: Path, convention: Convention) -> dict[str, Trace]:
    """Every ``*.json`` trace of a folder, by name."""
    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise ProblemError(f"{folder}: no *.json spot traces in this folder")
    return {path.stem: load_trace(path, convention) for path in files}


def traces_dir() -> Path | None:
    """The folder of public traces: ``$ADRS_SPOT_TRACES`` if set, else ../shared/data beside the checkout."""
    configured = os.environ.get(TRACES_ENV)
    folder = Path(configured) if configured else DEFAULT_DIR
    return folder if folder.is_dir() else None
