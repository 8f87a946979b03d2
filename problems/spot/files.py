"""Scenarios from a user's own traces (``adrs eval|bench spot --instances PATH``).

PATH is a SkyPilot trace file or a folder of them (each file a single-zone environment, under the plan of
``[options.files]`` in problem.toml), or a scenario set (``.toml``): environments of any number of zones, each
zone a trace file with its own spot price, under a plan of the set's own (the same keys). For example, nine
regions at their own prices, as the ADRS multi-region case study has (docs/spot.md)::

    deadlines = [52.0, 70.0]
    overheads = [0.2]
    [[environments]]
    name = "nine-regions"
    zones = [{trace = "us-east-1a.json", price = 0.92}, {trace = "eu-west-1b.json", price = 1.17}, ...]

Times are in hours and become ticks by each file's own tick length, so that a file of 195 s ticks gets the
windows, in hours, that one of 600 s ticks gets: by default the literature's 30 start times (its start ticks
at 600 s) and its window (554 x 600 s, 92.3 h), less the starts whose window leaves the trace. A trace's own
per-tick ``prices`` replace its zone's fixed price. A trace shorter than the job is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from problems.base import ProblemError
from problems.spot.grid import LITERATURE_STARTS, cell_group, scenario_data, tick_length
from problems.spot.traces import CONVENTIONS, Trace, load_trace, load_trace_dir

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

LITERATURE_GAP_SECONDS = 600.0  # the tick of the traces the literature's start ticks and window count in
LITERATURE_START_HOURS = tuple(tick * LITERATURE_GAP_SECONDS / 3600 for tick in LITERATURE_STARTS)


@dataclass(frozen=True)
class FilePlan:
    """How trace files become scenarios: every environment at every start, deadline and changeover delay.

    Attributes:
        window_hours: length of a window; spot is unavailable after its end (default: the literature's).
        start_hours: where windows start in the traces; empty: the literature's 30 start times that fit.
        deadlines, overheads: hours, crossed with every window.
        task: the job's compute in hours.
        convention: how the files encode availability: ``available`` (SkyPilot, 1 = available) or
            ``preempted`` (1 = preempted).
        on_demand_price, spot_price: dollars per hour; ``spot_price`` for zones given no price of their own.
    """

    window_hours: float = 554 * LITERATURE_GAP_SECONDS / 3600
    start_hours: tuple[float, ...] = ()
    deadlines: tuple[float, ...] = (52.0, 70.0, 92.0)
    overheads: tuple[float, ...] = (0.02, 0.2, 0.4)
    task: float = 48.0
    convention: str = "available"
    on_demand_price: float = 3.06
    spot_price: float = 0.9731

    @classmethod
    def from_options(cls, raw: Mapping[str, Any], where: str, base: FilePlan | None = None) -> FilePlan:
        """The plan of ``raw`` (keys as the fields), the rest from ``base``; ProblemError naming ``where``."""
        base = base or cls()
        unknown = sorted(set(raw) - {f.name for f in fields(cls)})
        if unknown:
            known = ", ".join(f.name for f in fields(cls))
            raise ProblemError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {known}")
        try:
            values = {
                name: tuple(float(x) for x in value) if isinstance(getattr(base, name), tuple) else
                str(value) if name == "convention" else float(value)
                for name, value in raw.items()
            }  # fmt: skip
            plan = cls(**{**{f.name: getattr(base, f.name) for f in fields(cls)}, **values})
        except (TypeError, ValueError) as exc:
            raise ProblemError(f"{where}: {exc}") from None
        if plan.convention not in CONVENTIONS:
            raise ProblemError(f"{where}: convention must be one of {', '.join(CONVENTIONS)}, not {plan.convention!r}")
        if min(plan.window_hours, plan.task, *plan.deadlines) <= 0 or min(plan.overheads, default=0) < 0:
            raise ProblemError(f"{where}: the window, the job and the deadlines need positive hours")
        return plan


Zone = tuple[Trace, "float | None"]  # a trace and its zone's fixed price (None: the plan's)


def scenario_cells(path: Path, plan: FilePlan) -> list[tuple[str, dict]]:
    """(group, instance data) of every scenario that ``path`` describes."""
    path = Path(path)
    if path.suffix.lower() == ".toml" and path.is_file():
        plan, environments = _scenario_set(path, plan)
    elif path.is_dir():
        environments = [(trace.name, [(trace, None)]) for trace in load_trace_dir(path, plan.convention).values()]  # type: ignore[arg-type]
    elif path.is_file():
        trace = load_trace(path, plan.convention)  # type: ignore[arg-type]
        environments = [(trace.name, [(trace, None)])]
    else:
        raise ProblemError(f"{path}: no such trace file, folder or scenario set (.toml)")
    return [cell for name, zones in environments for cell in _cells(name, zones, plan)]


def _cells(name: str, zones: Sequence[Zone], plan: FilePlan) -> list[tuple[str, dict]]:
    gap, ticks = tick_length([trace for trace, _ in zones], name), min(trace.ticks for trace, _ in zones)
    covered = ticks * gap / 3600
    if covered < plan.task:
        raise ProblemError(
            f"{name}: the traces cover {covered:.1f} h ({ticks} ticks of {gap:g} s), less than the job's "
            f"{plan.task:g} h of compute: no deadline could be met on them"
        )
    window = math.ceil(plan.window_hours * 3600 / gap - 1e-9)
    starts = [round(hours * 3600 / gap) for hours in plan.start_hours or LITERATURE_START_HOURS]
    fitting = [start for start in starts if start >= 0 and start + window <= ticks]
    if plan.start_hours and len(fitting) < len(starts):
        left = [f"{h:g} h" for h, s in zip(plan.start_hours, starts) if s not in fitting]
        raise ProblemError(
            f"{name}: windows of {plan.window_hours:g} h starting at {', '.join(left)} leave the traces "
            f"({covered:.1f} h)"
        )
    if not fitting:  # shorter than one window: one window from the start; spot is unavailable past the end
        fitting = [0]
    priced = [(trace, plan.spot_price if fixed is None else fixed) for trace, fixed in zones]
    cells = []
    for start in fitting:
        for deadline in plan.deadlines:
            for overhead in plan.overheads:
                cell = (plan.task, deadline, overhead, plan.on_demand_price)
                data = scenario_data(priced, gap, start, window, cell)
                cells.append((f"{name}-{cell_group(len(zones), deadline, overhead)}", data))
    return cells


def _scenario_set(path: Path, base: FilePlan) -> tuple[FilePlan, list[tuple[str, list[Zone]]]]:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProblemError(f"{path}: cannot read the scenario set ({exc})") from None
    listed = raw.pop("environments", None)
    plan = FilePlan.from_options(raw, str(path), base)
    if not isinstance(listed, list) or not listed:
        raise ProblemError(f"{path}: a scenario set needs [[environments]], each with zones = [trace files]")
    environments = []
    for k, env in enumerate(listed):
        zones = env.get("zones") if isinstance(env, dict) else None
        if not isinstance(zones, list) or not zones:
            raise ProblemError(f"{path}: environment {k + 1} needs zones = [trace files or {{trace, price}}]")
        resolved = [_zone(path, zone, plan, f"environment {k + 1} zone {z + 1}") for z, zone in enumerate(zones)]
        environments.append((str(env.get("name", f"env{k + 1}")), resolved))
    return plan, environments


def _zone(path: Path, zone: Any, plan: FilePlan, where: str) -> Zone:
    if isinstance(zone, str):
        zone = {"trace": zone}
    if not isinstance(zone, dict) or not isinstance(zone.get("trace"), str) or set(zone) - {"trace", "price"}:
        raise ProblemError(f"{path}: {where} must be a trace file name or {{trace = FILE, price = $/h}}")
    price = zone.get("price")
    if price is not None and (isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0):
        raise ProblemError(f"{path}: {where} has price {price!r}; a price is dollars per hour, >= 0")
    trace = load_trace(path.parent / zone["trace"], plan.convention)  # type: ignore[arg-type]
    return trace, None if price is None else float(price)
