"""Plain-text views of runs and programs for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from evolve import code_blocks
from evolve.archive.store import ProgramRecord
from problems.base import Objective


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A left-aligned text table."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def metric_columns(objectives: Sequence[Objective], splits: Sequence[str]) -> list[str]:
    return [f"{o.name}[{o.unit}] {split}" if o.unit else f"{o.name} {split}" for split in splits for o in objectives]


def metric_values(program: ProgramRecord, objectives: Sequence[Objective], splits: Sequence[str]) -> list[object]:
    values: list[object] = []
    for split in splits:
        metrics = program.metrics(split)
        values += [metrics.get(o.name) if metrics else None for o in objectives]
    return values


def frontier_table(programs: Sequence[ProgramRecord], objectives: Sequence[Objective]) -> str:
    headers = ["id", *metric_columns(objectives, ("train", "test")), "mutator", "generation"]
    rows = [[p.id, *metric_values(p, objectives, ("train", "test")), p.mutator, p.generation] for p in programs]
    return table(headers, rows)


def lineage(program: ProgramRecord, programs: dict[int, ProgramRecord]) -> list[ProgramRecord]:
    """The chain of main parents from the program back to the seed."""
    chain, seen = [program], {program.id}
    while chain[-1].parent_ids and chain[-1].parent_ids[0] in programs and chain[-1].parent_ids[0] not in seen:
        chain.append(programs[chain[-1].parent_ids[0]])
        seen.add(chain[-1].id)
    return chain


def show_program(program: ProgramRecord, programs: dict[int, ProgramRecord], objectives: Sequence[Objective]) -> str:
    chain = lineage(program, programs)
    parts = [
        f"program {program.id}  ({program.mutator}, generation {program.generation}, island {program.island}, "
        f"iteration {program.iteration})",
        f"note: {program.note}" if program.note else "",
        "",
        table(
            ["split", "status", *[o.name for o in objectives], "feedback"],
            [
                [
                    s,
                    e.status,
                    *[e.metrics.get(o.name) for o in objectives],
                    e.feedback.splitlines()[0][:80] if e.feedback else "",
                ]
                for s, e in program.evaluations.items()
            ],
        ),
        "",
        "lineage: " + " <- ".join(f"{p.id} ({p.mutator})" for p in chain),
        "",
        "--- code ---",
        program.code.rstrip(),
    ]
    if program.parent_ids and program.parent_ids[0] in programs:
        parent = programs[program.parent_ids[0]]
        parts += [
            "",
            f"--- diff to parent {parent.id} ---",
            code_blocks.unified_diff(parent.code, program.code, f"program {parent.id}", f"program {program.id}"),
        ]
    return "\n".join(parts)
