"""``adrs export``: a program as a standalone module for a simulator or a paper artifact, or programs as tables.

The module is the archived code unchanged below a comment header (problem, metrics, lineage, run), so it
imports and scores exactly as the archived program does, and its EVOLVE-BLOCKs make it a seed again. The
header's text comes from the archive, where a mutator's note may hold anything: every header line is
reduced to printable characters, so nothing can end the comment and become code.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Sequence
from typing import Any

from evolve.archive.store import ProgramRecord
from evolve.review.run_view import RunView

SPLITS = ("smoke", "train", "test")


def _printable(text: str) -> str:
    # Python ends a comment at \n or \r; anything else that is not printable is dropped as well.
    return "".join(c if c.isprintable() else " " for c in text)


def _metrics_line(program: ProgramRecord, split: str, run: RunView) -> str | None:
    metrics = program.metrics(split)
    if metrics is None:
        evaluation = program.evaluations.get(split)
        return f"{split}: {evaluation.status}" if evaluation is not None else None
    named = [o for o in run.problem.objectives if o.name in metrics]
    values = ", ".join(f"{o.name} {metrics[o.name]:.6g}{o.unit}" for o in named)
    extras = [name for name in run.problem.spec.reported if name in metrics]
    values += "".join(f", {name} {metrics[name]:.6g}" for name in extras)
    return f"{split}: {values}"


def module_text(run: RunView, program: ProgramRecord) -> str:
    """The program's code below a header that says where it comes from and how it scored."""
    record, spec = run.record, run.problem.spec
    chain = run.lineage(program.id)
    lines = [
        f"adrs export of program {program.id} of run {record.id} ({record.problem}), {time.strftime('%Y-%m-%d')}",
        f"problem: {spec.name}; entry point {spec.entry_point}(); objectives "
        + ", ".join(f"{o.name} [{o.unit}] ({o.direction})" for o in spec.objectives),
        "metrics (scored by the trusted verifier; time objectives depend on the machine):",
        *[f"  {line}" for split in SPLITS if (line := _metrics_line(program, split, run))],
        "lineage: " + " <- ".join(f"{p.id} ({p.mutator})" for p in chain),
        f"made by: {program.mutator}"
        + (f" with {program.model}" if program.model else "")
        + f", iteration {program.iteration}, generation {program.generation}",
        f"note: {program.note[:300]}" if program.note else "",
        f"run: {run.directory.resolve()}, seed {record.seed}, status {record.status}, "
        f"{record.iteration} iterations, {record.evaluations} evaluations",
        f"reproduce: adrs eval {spec.name} THIS_FILE --split test",
    ]
    header = "".join(f"# {_printable(line)}\n" for line in lines if line)
    return header + "\n" + program.code


def chosen(run: RunView, program_id: int | None, frontier: bool) -> list[ProgramRecord]:
    """The programs of a table: the lineage of ``program_id`` when given, else the frontier or all."""
    if program_id is not None:
        return run.lineage(program_id)
    return run.frontier() if frontier else run.programs()


def program_row(program: ProgramRecord) -> dict[str, Any]:
    """One program as a flat row: its facts, then ``SPLIT.status`` and ``SPLIT.METRIC`` for each split."""
    row: dict[str, Any] = {
        "id": program.id,
        "parents": " ".join(map(str, program.parent_ids)),
        "iteration": program.iteration,
        "generation": program.generation,
        "island": program.island,
        "mutator": program.mutator,
        "model": program.model or "",
        "status": program.status,
    }
    for split, evaluation in program.evaluations.items():
        row[f"{split}.status"] = evaluation.status
        for name, value in (evaluation.metrics or {}).items():
            row[f"{split}.{name}"] = value
    return row


def _strict(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def table_text(run: RunView, programs: Sequence[ProgramRecord], form: str) -> str:
    """``programs`` as CSV (one flat row each) or JSON (with code, note, metrics and feedback per split)."""
    if form == "json":
        items = [
            {
                **{k: v for k, v in program_row(p).items() if "." not in k},
                "parents": list(p.parent_ids),
                "model": p.model,
                "note": p.note,
                "evaluations": {
                    s: {"status": e.status, "metrics": e.metrics, "groups": e.groups, "feedback": e.feedback}
                    for s, e in p.evaluations.items()
                },
                "code": p.code,
            }
            for p in programs
        ]
        document = {"run": run.record.id, "problem": run.record.problem, "programs": items}
        return json.dumps(_strict(document), indent=1, allow_nan=False) + "\n"
    rows = [program_row(p) for p in programs]
    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
