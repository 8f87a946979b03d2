"""The frontier kept one program at a time equals the non-dominated programs of the whole run."""

from __future__ import annotations

import random

from evolve.archive.store import EvaluationRecord, ProgramRecord
from evolve.search.frontier import Frontier, frontier_of
from evolve.search.pareto import non_dominated_sort
from problems.base import Objective


def _scored(program_id: int, point: tuple[float, ...], ok: bool = True) -> ProgramRecord:
    metrics = {f"f{k}": value for k, value in enumerate(point)}
    train = EvaluationRecord("train", "ok" if ok else "error", metrics if ok else {}, {}, [], "", 0)
    return ProgramRecord(program_id, 1, "", str(program_id), (), 0, 0, 0, "genetic", None, "", {"train": train})


def test_the_frontier_kept_one_program_at_a_time_is_the_first_front_of_all_programs():
    """Against the full non-dominated sort, on small integer grids (many ties and copies), failed programs mixed
    in: equal points are one member, the program found first."""
    rng = random.Random(7)
    for size in (1, 5, 60, 300):
        for dims in (1, 2, 3):
            objectives = [Objective(f"f{k}", "min") for k in range(dims)]
            points = [tuple(float(rng.randint(0, 6)) for _ in range(dims)) for _ in range(size)]
            programs = [_scored(i + 1, p, ok=rng.random() > 0.1) for i, p in enumerate(points)]
            scored = [p for p in programs if p.selectable]
            front = non_dominated_sort([tuple(p.metrics()[o.name] for o in objectives) for p in scored])
            first_of_equals = {}
            for index in front[0] if front else []:
                first_of_equals.setdefault(points[scored[index].id - 1], scored[index].id)
            expected = sorted(first_of_equals.values())
            assert sorted(p.id for p in frontier_of(programs, objectives)) == expected


def test_a_newcomer_removes_the_members_it_dominates_and_a_record_can_be_replaced():
    objectives = [Objective("f0", "min"), Objective("f1", "max")]
    frontier = Frontier(objectives)
    assert frontier.add(_scored(1, (2.0, 1.0))) and frontier.add(_scored(2, (1.0, 0.5)))
    assert not frontier.add(_scored(3, (2.0, 1.0))), "the same point as #1: #1 stands for it"
    assert not frontier.add(_scored(4, (3.0, 0.0))), "dominated by both"
    assert frontier.add(_scored(5, (1.0, 2.0)))
    assert [p.id for p in frontier.programs()] == [5]
    newer = ProgramRecord(5, 1, "new", "5", (), 0, 0, 0, "genetic", None, "", _scored(5, (1.0, 2.0)).evaluations)
    frontier.update(newer)
    assert frontier.programs()[0].code == "new"
