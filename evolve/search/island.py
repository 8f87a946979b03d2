"""One island of the population: its members, NSGA-II survival, and tournament selection of parents.

An island knows programs only by id and oriented objectives; the archive and migration live elsewhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from evolve.search.pareto import crowding_distance, non_dominated_sort, nsga2_order


@dataclass(frozen=True)
class Member:
    """A program living on an island.

    Attributes:
        program_id: archive id of the program.
        objectives: its objective values oriented for minimisation (lower is better), primary first.
    """

    program_id: int
    objectives: tuple[float, ...]


class Island:
    """A population of at most ``capacity`` survivors, chosen by Pareto rank and crowding."""

    def __init__(self, index: int, capacity: int):
        if capacity < 1:
            raise ValueError(f"island capacity must be at least 1, got {capacity}")
        self.index = index
        self.capacity = capacity
        self._members: list[Member] = []
        self._ids: set[int] = set()
        # Survivors and their tournament keys, kept until the next add: parents are chosen far more often than
        # members change, and ranking is quadratic in the members.
        self._ranked: tuple[list[Member], list[tuple[int, float, int]]] | None = None

    def add(self, member: Member) -> None:
        """Adds a member; a program already on the island is ignored."""
        if member.program_id in self._ids:
            return
        self._ids.add(member.program_id)
        self._members.append(member)
        self._ranked = None
        if len(self._members) > 2 * self.capacity:  # (mu + lambda) survival keeps selection cheap on long runs
            self._members = self.survivors()

    def __contains__(self, program_id: int) -> bool:
        """Whether the program was ever added, even if it has since been pruned."""
        return program_id in self._ids

    @property
    def members(self) -> list[Member]:
        """The current population: insertion order until it outgrows twice the capacity, then pruned to survivors."""
        return list(self._members)

    def survivors(self) -> list[Member]:
        """At most ``capacity`` members, best first: NSGA-II survival by front, then crowding distance."""
        order = nsga2_order([member.objectives for member in self._members])
        return [self._members[index] for index in order[: self.capacity]]

    def select_parent(self, rng: random.Random) -> Member:
        """A survivor chosen by binary tournament on (front rank, larger crowding), ties to the lower id.

        Raises:
            ValueError: when the island is empty.
        """
        survivors, keys = self._ranking()
        if not survivors:
            raise ValueError(f"island {self.index} is empty: no parent to select")
        if len(survivors) == 1:
            return survivors[0]
        first, second = rng.sample(range(len(survivors)), 2)
        return survivors[min(first, second, key=lambda index: keys[index])]

    def elites(self, k: int) -> list[Member]:
        """The best ``k`` survivors, for migration to another island."""
        return self._ranking()[0][: max(k, 0)]

    def _ranking(self) -> tuple[list[Member], list[tuple[int, float, int]]]:
        if self._ranked is None:
            survivors = self.survivors()
            self._ranked = (survivors, _tournament_keys(survivors))
        return self._ranked


def _tournament_keys(members: list[Member]) -> list[tuple[int, float, int]]:
    """For each member, the key a tournament minimises: (front rank, -crowding distance, program id)."""
    points = [member.objectives for member in members]
    keys: list[tuple[int, float, int]] = [(0, 0.0, 0)] * len(members)
    for rank, front in enumerate(non_dominated_sort(points)):
        distance = crowding_distance(points, front)
        for index in front:
            keys[index] = (rank, -distance[index], members[index].program_id)
    return keys
