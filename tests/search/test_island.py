import random

import pytest

from evolve.search.island import Island, Member


def island_with(*objectives: tuple[float, ...], capacity: int = 10) -> Island:
    island = Island(0, capacity)
    for program_id, values in enumerate(objectives):
        island.add(Member(program_id, values))
    return island


def test_add_ignores_a_program_already_present():
    island = island_with((1.0,), (2.0,))
    island.add(Member(0, (0.5,)))
    assert [m.program_id for m in island.members] == [0, 1]
    assert island.members[0].objectives == (1.0,)


def test_members_keep_insertion_order():
    island = Island(3, 5)
    for program_id in (7, 2, 9):
        island.add(Member(program_id, (float(program_id),)))
    assert [m.program_id for m in island.members] == [7, 2, 9]


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        Island(0, 0)


def test_survivors_are_capped_by_capacity_and_keep_the_best_front():
    island = island_with((5.0, 5.0), (1.0, 3.0), (3.0, 1.0), (4.0, 4.0), capacity=2)
    assert {m.program_id for m in island.survivors()} == {1, 2}


def test_survivors_truncate_the_last_front_by_crowding():
    island = island_with((0.0, 4.0), (2.0, 2.0), (1.9, 2.1), (4.0, 0.0), capacity=3)
    # All four are mutually non-dominated; the two crowded middle points compete for the last place.
    survivors = [m.program_id for m in island.survivors()]
    assert survivors[:2] == [0, 3]
    assert len(survivors) == 3


def test_select_parent_from_an_empty_island_raises():
    with pytest.raises(ValueError, match="empty"):
        Island(0, 4).select_parent(random.Random(0))


def test_select_parent_returns_a_lone_member():
    island = island_with((1.0,))
    assert island.select_parent(random.Random(0)).program_id == 0


def test_tournament_always_prefers_a_dominating_member():
    island = island_with((2.0, 2.0), (1.0, 1.0))
    rng = random.Random(1)
    assert {island.select_parent(rng).program_id for _ in range(20)} == {1}


def test_tournament_ties_go_to_the_lower_program_id():
    island = Island(0, 5)
    island.add(Member(8, (0.0, 1.0)))  # both boundary points of one front: equal rank and crowding
    island.add(Member(3, (1.0, 0.0)))
    rng = random.Random(2)
    assert {island.select_parent(rng).program_id for _ in range(20)} == {3}


def test_tournament_reaches_more_than_one_member_of_a_front():
    island = island_with((0.0, 4.0), (1.0, 3.0), (3.0, 1.0), (4.0, 0.0), (5.0, 5.0))
    rng = random.Random(3)
    chosen = {island.select_parent(rng).program_id for _ in range(50)}
    assert len(chosen) > 1 and 4 not in chosen


def test_a_repeated_objective_vector_loses_to_its_first_copy_on_survival():
    island = island_with((0.0, 4.0), (0.0, 4.0), (2.0, 2.0), (4.0, 0.0), capacity=3)
    assert [m.program_id for m in island.survivors()] == [0, 3, 2]


def test_select_parent_is_deterministic_for_a_seed():
    island = island_with(*[(float(i % 5), float(7 - i % 7)) for i in range(12)], capacity=8)
    first = [island.select_parent(random.Random(5)).program_id for _ in range(3)]
    second = [island.select_parent(random.Random(5)).program_id for _ in range(3)]
    assert first == second


def test_elites_are_the_first_survivors():
    island = island_with((3.0,), (1.0,), (2.0,), capacity=3)
    assert [m.program_id for m in island.elites(2)] == [1, 2]
    assert island.elites(0) == []
    assert len(island.elites(10)) == 3


def test_a_population_past_twice_its_capacity_is_pruned_to_its_survivors():
    island = Island(0, capacity=2)
    for program_id in range(10):
        island.add(Member(program_id, (float(10 - program_id), float(program_id))))
    island.add(Member(99, (-1.0, -1.0)))
    assert len(island.members) <= 4
    assert 99 in {m.program_id for m in island.members}
    island.add(Member(99, (-1.0, -1.0)))
    assert sum(m.program_id == 99 for m in island.members) == 1


def test_an_island_remembers_programs_it_pruned_so_they_never_migrate_back():
    island = Island(0, capacity=1)
    for program_id in range(5):
        island.add(Member(program_id, (float(program_id),)))
    assert 4 not in {m.program_id for m in island.members}
    assert 4 in island and 7 not in island
