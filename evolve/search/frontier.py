"""The frontier: programs no other program beats on every selected objective, on train."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from evolve.archive.store import ProgramRecord
from evolve.search.pareto import pareto_front
from problems.base import Objective


def oriented(metrics: dict[str, float], objectives: Sequence[Objective]) -> tuple[float, ...]:
    """Objective values turned into a vector to minimise."""
    return tuple(o.oriented(metrics[o.name]) for o in objectives)


def boxed(point: Sequence[float], objectives: Sequence[Objective], tolerance: float) -> tuple[float, ...]:
    """``point`` with each measured objective (a wall time) replaced by its box: the index of the geometric
    interval of ratio ``1 + tolerance`` it falls in (epsilon-box dominance, Laumanns et al. 2002).

    Two times in one box are equal for dominance, so a program cannot beat another on time by noise within the
    tolerance; a time in a lower box is better. Values that are not positive finite times are kept as they are.
    """
    if tolerance <= 0:
        return tuple(point)
    step = math.log1p(tolerance)
    return tuple(
        math.floor(math.log(value) / step) if objective.measured and math.isfinite(value) and value > 0 else value
        for value, objective in zip(point, objectives)
    )


def frontier_of(
    programs: Iterable[ProgramRecord], objectives: Sequence[Objective], tolerance: float = 0.0
) -> list[ProgramRecord]:
    """Programs not dominated on train, best primary objective first.

    Programs with the same train values are one point of the frontier, stood for by the first of them (lowest
    id): with a deterministic objective, edits of dead code would otherwise each join it, and each be scored on
    test. Measured objectives are compared by their box of relative width ``tolerance`` (``boxed``): a program
    whose other values equal another's and whose time is within the tolerance of it is the same point. Only
    programs that passed every stage count (``ProgramRecord.selectable``).
    """
    scored = sorted((p for p in programs if p.selectable), key=lambda p: p.id)
    points = [boxed(oriented(p.metrics("train"), objectives), objectives, tolerance) for p in scored]
    first = {}
    for index, point in enumerate(points):
        first.setdefault(point, index)
    front = [i for i in pareto_front(points) if first[points[i]] == i]
    return sorted((scored[i] for i in front), key=lambda p: oriented(p.metrics("train"), objectives))
