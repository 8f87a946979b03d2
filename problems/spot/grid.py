"""Scenario grids: environments (one trace per zone) x start offsets x deadlines x changeover delays.

A grid is declared in problem.toml (``[[options.splits.<split>.grids]]``) and expanded here into instance data
(``problems/spot/scenario.py``). Traces are named by their file stem; a name resolves to the real trace when
the trace folder holds it, else to a synthetic trace drawn from that trace's fitted lifetimes (stored in
problem.toml) so that the problem works without the data. ``synthetic:NAME`` always means the synthetic one.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from problems.base import ProblemError
from problems.spot.synthetic import Lifetimes, synthetic_trace
from problems.spot.traces import DEFAULT_DIR, TRACES_ENV, Trace, load_trace

# The start ticks of the literature's 30 windows per environment (ADRS "Can't Be Late" case study; 789 twice).
LITERATURE_STARTS = (
    684, 62, 1136, 623, 671, 37, 789, 142, 794, 511, 3, 474, 969, 764, 1168,
    714, 747, 1184, 599, 570, 423, 789, 1044, 1126, 1022, 16, 214, 451, 382, 641,
)  # fmt: skip
LITERATURE_ENVIRONMENTS = (("us-west-2a_k80_1",), ("us-west-2b_k80_1",), ("us-west-2a_v100_1",), ("us-west-2b_v100_1",))
SYNTHETIC = "synthetic:"


@dataclass(frozen=True)
class Grid:
    """One block of scenarios: every environment at every start, deadline and changeover delay.

    Attributes:
        environments: each a list of trace names, one per zone (one name: a single region).
        starts: start ticks of the windows in the traces.
        window: ticks per window; spot is unavailable after a window's end.
        deadlines: deadlines in hours.
        overheads: changeover delays in hours.
        task: the job's compute in hours.
        on_demand_price, spot_price: dollars per hour (p3.2xlarge's by default).
    """

    environments: tuple[tuple[str, ...], ...]
    starts: tuple[int, ...]
    window: int
    deadlines: tuple[float, ...]
    overheads: tuple[float, ...]
    task: float = 48.0
    on_demand_price: float = 3.06
    spot_price: float = 0.9731

    @classmethod
    def from_options(cls, raw: Mapping[str, Any]) -> Grid:
        try:
            grid = cls(
                environments=tuple(tuple(str(n) for n in env) for env in raw["environments"]),
                starts=tuple(int(s) for s in raw["starts"]),
                window=int(raw["window"]),
                deadlines=tuple(float(x) for x in raw["deadlines"]),
                overheads=tuple(float(x) for x in raw["overheads"]),
                **{k: float(raw[k]) for k in ("task", "on_demand_price", "spot_price") if k in raw},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProblemError(f"spot: invalid grid in problem.toml ({exc!r})") from None
        if not grid.environments or any(not env for env in grid.environments) or grid.window < 1:
            raise ProblemError("spot: a grid needs environments of at least one zone and a positive window")
        return grid


@dataclass
class TraceSource:
    """Resolves trace names to traces: real files where present, synthetic from fitted lifetimes otherwise.

    Attributes:
        folder: the folder of real traces, or None.
        lifetimes: fitted lifetimes by trace name, for the synthetic stand-ins.
        ticks: length of a synthetic trace.
        gap_seconds: tick length of a synthetic trace.
        convention: how the real files encode availability (traces.py).
    """

    folder: Path | None
    lifetimes: Mapping[str, Lifetimes]
    ticks: int = 3895
    gap_seconds: float = 600.0
    convention: str = "available"
    _cache: dict[str, tuple[Trace, bool]] = field(default_factory=dict)

    @classmethod
    def of(cls, traces: Sequence[Trace]) -> TraceSource:
        """A source holding exactly these (real) traces, by name."""
        source = cls(None, {})
        source._cache.update({trace.name: (trace, False) for trace in traces})
        return source

    def get(self, name: str) -> tuple[Trace, bool]:
        """The trace called ``name`` and whether it is synthetic."""
        if name not in self._cache:
            self._cache[name] = self._resolve(name)
        return self._cache[name]

    def _resolve(self, name: str) -> tuple[Trace, bool]:
        forced = name.startswith(SYNTHETIC)
        base = name[len(SYNTHETIC) :] if forced else name
        if not forced and self.folder is not None and (self.folder / f"{base}.json").is_file():
            return load_trace(self.folder / f"{base}.json", self.convention), False  # type: ignore[arg-type]
        if base not in self.lifetimes:
            raise ProblemError(f"spot: no trace file {base}.json and no fitted lifetimes for it in problem.toml")
        if not forced:
            _warn_synthetic(base, self.folder)
        seed = zlib.crc32(base.encode())  # a stable seed per name, the same on every machine
        return Trace(name, self.gap_seconds, synthetic_trace(self.lifetimes[base], self.ticks, seed)), True


_WARNED: set[str] = set()


def _warn_synthetic(name: str, folder: Path | None) -> None:
    """Says once per process, on stderr, that a real trace was missing and a synthetic one stands in for it."""
    if name in _WARNED:
        return
    _WARNED.add(name)
    where = (
        f"in {folder}" if folder is not None else f"(no trace folder: {TRACES_ENV} is unset and {DEFAULT_DIR} absent)"
    )
    print(
        f"spot: trace {name}.json not found {where}; a synthetic trace drawn from its fitted lifetimes stands in "
        f"(its groups end in -syn). The real traces: GitHub skypilot-org/spot-traces, availability/1-node/"
        f"aws-10-26-2022/; set {TRACES_ENV} to their folder.",
        file=sys.stderr,
    )


def tick_length(traces: Sequence[Trace], environment: str) -> float:
    """The one tick length of an environment's zones (a scenario has one clock)."""
    gaps = sorted({t.gap_seconds for t in traces})
    if len(gaps) != 1:
        raise ProblemError(f"spot: the zones of {environment} need one tick length, got {gaps} s")
    return gaps[0]


def scenario_data(
    zones: Sequence[tuple[Trace, float]], gap: float, start: int, window: int, cell: tuple[float, float, float, float]
) -> dict:
    """The instance data of one scenario (the format of problems/spot/scenario.py): each zone's ticks
    ``[start, start + window)`` at its fixed spot price, or at its trace's own per-tick prices where it has them.
    ``cell``: the job's hours, the deadline's, the changeover delay's, and the on-demand price."""
    task, deadline, overhead, on_demand_price = cell

    def price(trace: Trace, fixed: float) -> float | list[float]:
        return list(trace.prices[start : start + window]) if trace.prices is not None else fixed

    return {
        "gap_seconds": gap, "task_hours": task, "deadline_hours": deadline, "overhead_hours": overhead,
        "on_demand_price": on_demand_price,
        "zones": [
            {"name": t.name, "available": t.window(start, window), "spot_price": price(t, fixed)} for t, fixed in zones
        ],
    }  # fmt: skip


def cell_group(zones: int, deadline: float, overhead: float) -> str:
    """The cell of the published tables a scenario falls in: zone count, deadline and delay (``1z-52h-0.2h``)."""
    return f"{zones}z-{deadline:g}h-{overhead:g}h"


def expand(grid: Grid, source: TraceSource) -> list[tuple[str, dict, bool]]:
    """(group, data, synthetic) of every scenario, environments outermost, then starts, deadlines, overheads.

    The group names the zone count, deadline and delay (``1z-52h-0.2h``), the cells of the published tables;
    ``-syn`` marks scenarios on synthetic stand-ins.
    """
    out = []
    for env in grid.environments:
        resolved = [source.get(name) for name in env]
        traces = [trace for trace, _ in resolved]
        synthetic = any(flag for _, flag in resolved)
        gap = tick_length(traces, ", ".join(env))
        zones = [(trace, grid.spot_price) for trace in traces]
        for start in grid.starts:
            if start < 0 or start >= min(t.ticks for t in traces):
                raise ProblemError(f"spot: start tick {start} is outside the traces of {', '.join(env)}")
            for deadline in grid.deadlines:
                for overhead in grid.overheads:
                    group = cell_group(len(env), deadline, overhead) + ("-syn" if synthetic else "")
                    cell = (grid.task, deadline, overhead, grid.on_demand_price)
                    out.append((group, scenario_data(zones, gap, start, grid.window, cell), synthetic))
    return out
