"""The frontier: programs no other program beats on every selected objective, on train."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from evolve.archive.store import ProgramRecord
from evolve.search.pareto import dominates
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


class Frontier:
    """The frontier kept up to date one program at a time, in id order, at a cost that grows with the frontier's
    size and not with the run's: a long run never recomputes it from all of its programs.

    Adding programs in id order gives exactly ``frontier_of`` of them: a newcomer is dropped when a member
    dominates it or has its point (members have lower ids), and otherwise removes the members it dominates; a
    program dropped or removed earlier cannot matter, since whatever dominated it dominates what it dominated.
    """

    def __init__(self, objectives: Sequence[Objective], tolerance: float = 0.0):
        self.objectives, self.tolerance = list(objectives), tolerance
        self._members: dict[int, tuple[tuple[float, ...], ProgramRecord]] = {}

    def add(self, program: ProgramRecord) -> bool:
        """Offers a program (with an id above every earlier one); whether it joined."""
        if not program.selectable:
            return False
        point = boxed(oriented(program.metrics("train"), self.objectives), self.objectives, self.tolerance)
        if any(other == point or dominates(other, point) for other, _ in self._members.values()):
            return False
        for beaten in [i for i, (other, _) in self._members.items() if dominates(point, other)]:
            del self._members[beaten]
        self._members[program.id] = (point, program)
        return True

    def update(self, program: ProgramRecord) -> None:
        """Replaces a member's record by a newer one of the same program (e.g. with its test evaluation)."""
        if program.id in self._members:
            self._members[program.id] = (self._members[program.id][0], program)

    def programs(self) -> list[ProgramRecord]:
        """The members, best primary objective first."""
        members = (program for _, program in self._members.values())
        return sorted(members, key=lambda p: (oriented(p.metrics("train"), self.objectives), p.id))


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
    frontier = Frontier(objectives, tolerance)
    for program in sorted(programs, key=lambda p: p.id):
        frontier.add(program)
    return frontier.programs()
