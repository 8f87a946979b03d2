"""The frontier: programs no other program beats on every selected objective, on train."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from evolve.archive.store import ProgramRecord
from evolve.search.pareto import pareto_front
from problems.base import Objective


def oriented(metrics: dict[str, float], objectives: Sequence[Objective]) -> tuple[float, ...]:
    """Objective values turned into a vector to minimise."""
    return tuple(o.oriented(metrics[o.name]) for o in objectives)


def frontier_of(programs: Iterable[ProgramRecord], objectives: Sequence[Objective]) -> list[ProgramRecord]:
    """Programs not dominated on train, best primary objective first.

    Programs with the same train values are one point of the frontier, stood for by the first of them (lowest
    id): with a deterministic objective, edits of dead code would otherwise each join it, and each be scored on
    test. Only programs that passed every stage count (``ProgramRecord.selectable``).
    """
    scored = sorted((p for p in programs if p.selectable), key=lambda p: p.id)
    points = [oriented(p.metrics("train"), objectives) for p in scored]
    first = {}
    for index, point in enumerate(points):
        first.setdefault(point, index)
    front = [i for i in pareto_front(points) if first[points[i]] == i]
    return sorted((scored[i] for i in front), key=lambda p: oriented(p.metrics("train"), objectives))
