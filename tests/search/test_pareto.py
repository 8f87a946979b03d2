import math
import random

import pytest

from evolve.search import pareto
from evolve.search.pareto import crowding_distance, dominates, non_dominated_sort, nsga2_order


def test_dominates_needs_no_worse_everywhere_and_better_somewhere():
    assert dominates((1.0, 2.0), (1.0, 3.0))
    assert not dominates((1.0, 3.0), (1.0, 2.0))
    assert not dominates((1.0, 4.0), (2.0, 3.0))


def test_equal_vectors_do_not_dominate_each_other():
    assert not dominates((1.0, 2.0), (1.0, 2.0))


def test_dominates_rejects_vectors_of_different_length():
    with pytest.raises(ValueError):
        dominates((1.0,), (1.0, 2.0))


def test_non_dominated_sort_layers_points_into_fronts():
    points = [(1.0, 5.0), (2.0, 2.0), (5.0, 1.0), (3.0, 3.0), (4.0, 4.0), (6.0, 6.0)]
    assert non_dominated_sort(points) == [[0, 1, 2], [3], [4], [5]]


def test_non_dominated_sort_keeps_duplicates_in_one_front():
    points = [(2.0, 2.0), (1.0, 1.0), (2.0, 2.0)]
    assert non_dominated_sort(points) == [[1], [0, 2]]


def test_non_dominated_sort_of_nothing_is_no_fronts():
    assert non_dominated_sort([]) == []


def test_crowding_gives_boundary_points_infinity():
    points = [(0.0, 4.0), (1.0, 3.0), (3.0, 1.0), (4.0, 0.0)]
    distance = crowding_distance(points, [0, 1, 2, 3])
    assert distance[0] == math.inf and distance[3] == math.inf
    assert distance[1] == pytest.approx((3.0 - 0.0) / 4 + (4.0 - 1.0) / 4)
    assert distance[2] == pytest.approx(distance[1])


def test_crowding_of_a_front_of_two_is_all_infinite():
    assert crowding_distance([(0.0, 1.0), (1.0, 0.0)], [0, 1]) == {0: math.inf, 1: math.inf}


def test_crowding_ignores_a_flat_objective_without_nans():
    points = [(0.0, 5.0), (1.0, 5.0), (3.0, 5.0), (4.0, 5.0)]
    distance = crowding_distance(points, [0, 1, 2, 3])
    assert distance[1] == pytest.approx(3.0 / 4)
    assert not any(math.isnan(value) for value in distance.values())


def test_crowding_survives_infinite_objective_values():
    points = [(0.0, math.inf), (1.0, 2.0), (2.0, 1.0), (3.0, 0.0)]
    distance = crowding_distance(points, [0, 1, 2, 3])
    assert not any(math.isnan(value) for value in distance.values())


def test_nsga2_puts_earlier_fronts_first():
    points = [(3.0, 3.0), (1.0, 1.0), (0.0, 5.0)]
    assert nsga2_order(points) == [1, 2, 0]


def test_nsga2_prefers_boundary_points_within_a_front():
    points = [(2.0, 2.0), (0.0, 4.0), (1.0, 3.0), (4.0, 0.0), (3.5, 0.5)]
    order = nsga2_order(points)
    assert set(order[:2]) == {1, 3}
    assert order[2] == 0  # the most isolated interior point comes next


def test_nsga2_breaks_ties_by_index():
    points = [(1.0, 1.0)] * 4
    assert nsga2_order(points) == [0, 1, 2, 3]


def test_crowding_gives_later_copies_of_a_vector_no_spread():
    points = [(0.0, 4.0), (2.0, 2.0), (0.0, 4.0), (4.0, 0.0)]
    distance = crowding_distance(points, [0, 1, 2, 3])
    assert distance[0] == math.inf and distance[3] == math.inf and distance[2] == 0.0
    assert distance[1] == pytest.approx(2.0)


@pytest.mark.parametrize("dimensions", [1, 2])
def test_the_sort_for_one_or_two_objectives_gives_the_fronts_of_the_pairwise_sort(dimensions):
    rng = random.Random(dimensions)
    for _ in range(300):
        # Few distinct values: ties, equal vectors and equal coordinates are common.
        points = [tuple(float(rng.randint(0, 4)) for _ in range(dimensions)) for _ in range(rng.randint(0, 25))]
        assert non_dominated_sort(points) == pareto._sort_by_pairs(points), points
