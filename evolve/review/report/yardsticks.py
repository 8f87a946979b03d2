"""The yardsticks on the report's frontier: the problem's human baselines and its bounds, scored once per run.

The archive already holds the seed on train and test, so the seed costs nothing, and so are the baselines
of a run that started from them (``baselines_in_population``): their figures are the run's own. Baselines
the archive lacks (EDD, ATC, FCFS-watermark...) are scored in the sandbox on the run's train and test
instances, as ``adrs bench`` scores them, and the results are cached in the run directory (``baselines.json``, keyed by
each file's content) so that a live report pays for them once. The bounds are the problem's own
``bench_bounds`` rows, computed in this process. Measured-time objectives of baselines come from the moment
they were scored, not from the run, and the report says so.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluators.evaluator import Evaluator
from evolve.archive.records import ProgramRecord
from problems.base import Problem

CACHE_FILE = "baselines.json"
SPLITS = ("train", "test")
_VERSION = 1

EvaluatorSource = Callable[[], AbstractContextManager[Evaluator]]


@dataclass(frozen=True)
class Yardsticks:
    """What the report marks beside the run's programs.

    Attributes:
        baselines: name -> split -> {"status", "metrics"} for each baseline file of the problem.
        bounds: split -> name -> metrics, from the problem's ``bench_bounds`` (an oracle, a capacity, the
            optimum); a bound may give only some of the metrics.
        scored_at: when the baselines were scored (ISO time), empty when they were not.
        note: why some are missing, or empty.
    """

    baselines: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    bounds: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    scored_at: str = ""
    note: str = ""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def cached(run_dir: Path) -> dict[str, Any]:
    """The cache of ``run_dir``, or an empty one when it is missing, unreadable or of another version."""
    try:
        data = json.loads((Path(run_dir) / CACHE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("version") == _VERSION else {}


def yardsticks(
    problem: Problem,
    run_dir: Path,
    evaluator: EvaluatorSource | None,
    programs: Iterable[ProgramRecord] = (),
    bounds_too: bool = True,
) -> Yardsticks:
    """Baselines and bounds of ``problem`` for the report of the run in ``run_dir``, whose ``programs`` are
    looked through for baselines scored on train and test already.

    What neither they nor the cache hold is computed with the evaluator that ``evaluator()`` yields, then
    cached; with ``evaluator`` None only the cache is read. ``bounds_too`` False leaves bounds the cache lacks
    uncomputed (the verdict needs only the baselines; serving's oracle takes a minute).
    """
    cache = cached(run_dir)
    files = {path.stem: path.read_text() for path in problem.baselines() if path.is_file()}
    stored = {**cache.get("baselines", {}), **_in_run(programs)}
    fresh = {name: stored[name] for name, code in files.items() if stored.get(name, {}).get("hash") == _digest(code)}
    missing = [name for name in files if name not in fresh]
    bounds = cache.get("bounds")
    scored_at = cache.get("scored_at", "")
    if (missing or (bounds is None and bounds_too)) and evaluator is not None:
        with evaluator() as live:
            for split in SPLITS:
                results = live.evaluate_many([files[name] for name in missing], split) if missing else []
                for name, result in zip(missing, results):
                    entry = fresh.setdefault(name, {"hash": _digest(files[name]), "splits": {}})
                    entry["splits"][split] = {"status": result.status, "metrics": _finite(result.metrics)}
            if bounds is None and bounds_too:
                bounds = {split: _bounds(problem, live, split) for split in SPLITS}
        scored_at = time.strftime("%Y-%m-%d %H:%M:%S") if missing else scored_at
    if evaluator is not None and (fresh != cache.get("baselines") or bounds != cache.get("bounds")):
        # What the run had (its own baselines) is cached too, for a report that reads only the cache.
        _write(run_dir, {"version": _VERSION, "scored_at": scored_at, "baselines": fresh, "bounds": bounds})
    note = ""
    if missing and evaluator is None:
        note = (
            f"{len(missing)} baseline(s) not scored yet ({', '.join(missing)}): the run's last report, or "
            "`adrs report`, scores them"
        )
    return Yardsticks({name: entry["splits"] for name, entry in sorted(fresh.items())}, bounds or {}, scored_at, note)


def _in_run(programs: Iterable[ProgramRecord]) -> dict[str, dict[str, Any]]:
    """Cache entries for the run's baseline programs that were scored on every split of ``SPLITS``."""
    found = {}
    for program in programs:
        if program.mutator == "baseline" and all(split in program.evaluations for split in SPLITS):
            evaluations = program.evaluations
            splits = {s: {"status": evaluations[s].status, "metrics": _finite(evaluations[s].metrics)} for s in SPLITS}
            found[program.note.removeprefix("baseline ")] = {"hash": _digest(program.code), "splits": splits}
    return found


def _bounds(problem: Problem, evaluator: Evaluator, split: str) -> dict[str, dict[str, float]]:
    rows = problem.bench_bounds(evaluator.instances(split))
    return {name: _finite(values) for name, values in rows.items()}


def _write(run_dir: Path, data: dict[str, Any]) -> None:
    path = Path(run_dir) / CACHE_FILE
    temporary = path.with_suffix(".json.tmp")
    try:
        temporary.write_text(json.dumps(data, indent=1))
        os.replace(temporary, path)  # a report written meanwhile reads the old cache or the new, never half
    except OSError:  # a read-only run directory: this report has them, the next one scores them again
        pass
