"""What the report shows, as plain data read from the archive: programs, frontier, progress, spend, failures.

``report.py`` renders it: the summary tables as escaped HTML, the rest as one JSON document that the page's
script draws (plots, lineage, a page per program). Nothing here formats HTML except the code lines of
``highlight``, which are escaped there.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from evolve.archive.models import LLMCall
from evolve.archive.records import STAGES
from evolve.archive.store import ProgramRecord, ProgressRecord
from evolve.review.report.highlight import LineTable, diff_hunks
from evolve.review.report.yardsticks import Yardsticks
from evolve.review.run_view import RunView
from problems.base import Objective

SPLITS = (*STAGES, "test")  # a program's evaluations in the order it met them
GROUP_SPLITS = ("train", "test")  # the smoke split's classes are too small to say anything
MAX_FEEDBACK = 3000
MAX_NOTE = 1000


def number(value: Any) -> float | None:
    """A metric for the page: six significant digits (enough for any table, a third of the bytes), None if
    not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _numbers(metrics: dict[str, Any], names: Iterable[str] | None = None) -> dict[str, float | None]:
    keys = metrics if names is None else [n for n in names if n in metrics]
    return {k: number(metrics[k]) for k in keys}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text)} characters; cut here)"


def report_data(
    run: RunView, yard: Yardsticks, programs: Sequence[ProgramRecord], calls: Sequence[LLMCall]
) -> dict[str, Any]:
    """Everything the report shows of ``run``'s ``programs`` and model ``calls``, with ``yard``'s baselines
    and bounds."""
    record, problem = run.record, run.problem
    objectives = run.objectives
    frontier = run.frontier(programs)
    shown = [o.name for o in problem.objectives] + [m for m in problem.spec.reported]
    table = LineTable()
    by_id = {p.id: p for p in programs}
    calls_of: dict[int, list[LLMCall]] = defaultdict(list)
    for call in calls:
        if call.program_id is not None:
            calls_of[call.program_id].append(call)
    code_of = {p.id: table.add(p.code) for p in programs}
    classes = _classes(programs)
    entries = [_program(p, by_id, code_of, shown, classes, calls_of.get(p.id, [])) for p in programs]
    return {
        "run": {
            "id": record.id,
            "problem": record.problem,
            "status": record.status,
            "iteration": record.iteration,
            "iterations": run.config.iterations,
        },
        "objectives": [_objective(o, o in objectives) for o in problem.objectives],
        "axes": shown,
        "classes": classes,
        "programs": entries,
        "lines": table.lines,
        "frontier": [p.id for p in frontier],
        "seeds": [p.id for p in programs if p.mutator == "seed"],
        "baselines": [{"name": n, **_baseline(s)} for n, s in yard.baselines.items()],
        "bounds": {
            split: [{"name": n, "metrics": _numbers(m)} for n, m in rows.items()] for split, rows in yard.bounds.items()
        },
        "progress": progress_series(programs, objectives, run.progress(), calls, record.iteration),
    }


def _classes(programs: Sequence[ProgramRecord]) -> dict[str, list[str]]:
    """The instance classes of each split that has per-class metrics, sorted."""
    found: dict[str, set[str]] = defaultdict(set)
    for program in programs:
        for split in GROUP_SPLITS:
            evaluation = program.evaluations.get(split)
            if evaluation is not None and evaluation.ok and isinstance(evaluation.groups, dict):
                found[split].update(evaluation.groups)
    return {split: sorted(found[split]) for split in GROUP_SPLITS if found[split]}


def _objective(objective: Objective, searched: bool) -> dict[str, Any]:
    return {
        "name": objective.name,
        "direction": objective.direction,
        "unit": objective.unit,
        "description": objective.description,
        "search": searched,
    }


def _baseline(splits: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {split: _numbers(s["metrics"]) if s["status"] == "ok" else None for split, s in splits.items()}


def _program(
    program: ProgramRecord,
    by_id: dict[int, ProgramRecord],
    code_of: dict[int, list[int]],
    shown: Sequence[str],
    classes: dict[str, list[str]],
    calls: Sequence[LLMCall],
) -> dict[str, Any]:
    """One program for the page. Per-class metrics are rows aligned with ``classes[split]`` and ``shown``
    (None for a class or metric the program lacks): the class names are not repeated 2,000 times."""
    parent = by_id.get(program.parent_ids[0]) if program.parent_ids else None
    evaluations = [program.evaluations[s] for s in SPLITS if s in program.evaluations]
    evaluations += [e for s, e in program.evaluations.items() if s not in SPLITS]  # e.g. a problem's own split
    return {
        "id": program.id,
        "parents": list(program.parent_ids),
        "iteration": program.iteration,
        "generation": program.generation,
        "island": program.island,
        "mutator": program.mutator,
        "model": program.model,
        "status": program.status,
        "note": _cut(program.note, MAX_NOTE),
        "metrics": {e.split: _numbers(e.metrics) for e in evaluations if e.ok},
        "evals": [[e.split, e.status, number(e.seconds), _cut(e.feedback, MAX_FEEDBACK)] for e in evaluations],
        "groups": {
            e.split: [_row(e.groups.get(group), shown) for group in classes[e.split]]
            for e in evaluations
            if e.ok and e.split in classes and isinstance(e.groups, dict)
        },
        "code": code_of[program.id],
        "diff": diff_hunks(parent.code, program.code) if parent is not None else None,
        "calls": [_call(c) for c in calls],
    }


def _row(values: Any, names: Sequence[str]) -> list[float | None] | None:
    return [number(values.get(n)) for n in names] if isinstance(values, dict) else None


def _call(call: LLMCall) -> dict[str, Any]:
    return {
        "model": call.model,
        "status": call.status,
        "tokens": call.prompt_tokens + call.completion_tokens,
        "dollars": number(call.dollars),
        "seconds": number(call.latency_seconds),
        "cached": call.cached,
    }


def progress_series(
    programs: Sequence[ProgramRecord],
    objectives: Sequence[Objective],
    progress: Sequence[ProgressRecord],
    calls: Sequence[LLMCall],
    last_iteration: int,
) -> dict[str, Any]:
    """Per iteration 0..last: the best train value so far of each objective, and what had been spent.

    ``evaluations`` and ``wall`` are None for archives made before the progress table; dollars then come
    from the model calls, which carry their iteration.
    """
    iterations = list(range(last_iteration + 1))
    best: dict[str, list[float | None]] = {}
    for objective in objectives:
        found: dict[int, float] = {}
        for program in programs:
            metrics = program.metrics("train") if program.selectable else None
            if metrics is not None and objective.name in metrics and program.iteration <= last_iteration:
                value = metrics[objective.name]
                old = found.get(program.iteration)
                if old is None or objective.oriented(value) < objective.oriented(old):
                    found[program.iteration] = value
        series, current = [], None
        for iteration in iterations:
            value = found.get(iteration)
            if value is not None and (current is None or objective.oriented(value) < objective.oriented(current)):
                current = value
            series.append(number(current) if current is not None else None)
        best[objective.name] = series
    at = {p.iteration: p for p in progress}
    if at:
        evaluations = _carried([at[i].evaluations if i in at else None for i in iterations])
        wall = _carried([at[i].wall_seconds if i in at else None for i in iterations])
        dollars = _carried([at[i].dollars if i in at else None for i in iterations])
    else:
        spent = Counter()
        for call in calls:
            spent[call.iteration] += call.dollars
        evaluations = wall = None
        dollars, total = [], 0.0
        for iteration in iterations:
            total += spent.get(iteration, 0.0)
            dollars.append(total)
    return {
        "iteration": iterations,
        "evaluations": evaluations,
        "wall": [number(w) for w in wall] if wall else None,
        "dollars": [number(d) for d in dollars],
        "best": best,
    }


def _carried(values: list[Any]) -> list[Any]:
    """Gaps (an iteration killed between its commit and its counters) take the previous value."""
    out, last = [], 0
    for value in values:
        last = value if value is not None else last
        out.append(last)
    return out


# -- summary tables (rendered as static HTML by report.py) ----------------------------------------------------


_DIGITS = re.compile(r"\d+(\.\d+)?")


def failure_reason(feedback: str) -> str:
    """A failure's kind: the first line of its feedback with numbers and instance ids made generic."""
    first = next((line for line in feedback.splitlines() if line.strip()), "(no feedback)")
    return _DIGITS.sub("N", first.strip())[:160]


def failures(programs: Sequence[ProgramRecord]) -> tuple[list[list[Any]], list[list[Any]]]:
    """(rows of stage, status, count; rows of stage, status, reason, count, example ids), most common first."""
    stages: Counter[tuple[str, str]] = Counter()
    reasons: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for program in programs:
        failed = next((e for e in program.evaluations.values() if not e.ok), None)
        if failed is None:
            continue
        stages[failed.split, failed.status] += 1
        reasons[failed.split, failed.status, failure_reason(failed.feedback)].append(program.id)
    stage_rows = [[stage, status, count] for (stage, status), count in stages.most_common()]
    reason_rows = sorted(
        ([stage, status, reason, len(ids), ids[:5]] for (stage, status, reason), ids in reasons.items()),
        key=lambda row: (-row[3], row[0], row[1], row[2]),
    )
    return stage_rows, reason_rows


def spend_by_model(calls: Sequence[LLMCall]) -> list[list[Any]]:
    """Per model: calls, applied, edit failed, call failed, cached, prompt and completion tokens, dollars."""
    rows: dict[str, list[Any]] = {}
    for call in calls:
        row = rows.setdefault(call.model, [call.model, 0, 0, 0, 0, 0, 0, 0, 0.0])
        row[1] += 1
        row[{"applied": 2, "edit_failed": 3}.get(call.status, 4)] += 1
        row[5] += bool(call.cached)
        row[6] += call.prompt_tokens
        row[7] += call.completion_tokens
        row[8] += call.dollars
    return sorted(rows.values(), key=lambda row: -row[8])


def by_mutator(programs: Sequence[ProgramRecord], frontier_ids: set[int]) -> list[list[Any]]:
    """Per mutator (and model): programs archived, passed train, failed, on the frontier now."""
    rows: dict[tuple[str, str], list[Any]] = {}
    for program in programs:
        key = (program.mutator, program.model or "")
        row = rows.setdefault(key, [key[0], key[1] or "-", 0, 0, 0, 0])
        row[2] += 1
        row[3 if program.status == "ok" else 4] += 1
        row[5] += program.id in frontier_ids
    return sorted(rows.values(), key=lambda row: -row[2])
