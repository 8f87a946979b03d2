"""Pareto arithmetic over objective vectors oriented for minimisation (NSGA-II sorting and crowding).

Every function is pure and deterministic: points are tuples of floats, results are indices into the input,
and ties are always broken by the lower index. Equal vectors never dominate each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Point = Sequence[float]


def dominates(a: Point, b: Point) -> bool:
    """True when ``a`` is no worse than ``b`` in every objective and strictly better in at least one."""
    if len(a) != len(b):
        raise ValueError(f"objective vectors differ in length: {len(a)} and {len(b)}")
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def non_dominated_sort(points: Sequence[Point]) -> list[list[int]]:
    """Fronts of point indices: the first front is dominated by nobody, each next one only by earlier fronts.

    This is NSGA-II's fast non-dominated sort (for one or two objectives, the same fronts in O(n log n));
    indices within a front are in increasing order.
    """
    if points and len(points[0]) <= 2 and all(math.isfinite(x) for point in points for x in point):
        return _sort_in_two_dimensions([(point[0], point[1] if len(point) == 2 else 0.0) for point in points])
    return _sort_by_pairs(points)


def _sort_by_pairs(points: Sequence[Point]) -> list[list[int]]:
    """NSGA-II's sort for any number of objectives: every pair compared once, O(n^2)."""
    dominated_by_me: list[list[int]] = [[] for _ in points]
    times_dominated = [0] * len(points)
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            if dominates(points[i], points[j]):
                dominated_by_me[i].append(j)
                times_dominated[j] += 1
            elif dominates(points[j], points[i]):
                dominated_by_me[j].append(i)
                times_dominated[i] += 1
    fronts: list[list[int]] = []
    current = [i for i, count in enumerate(times_dominated) if count == 0]
    while current:
        fronts.append(current)
        following: list[int] = []
        for i in current:
            for j in dominated_by_me[i]:
                times_dominated[j] -= 1
                if times_dominated[j] == 0:
                    following.append(j)
        current = sorted(following)
    return fronts


def _sort_in_two_dimensions(points: Sequence[tuple[float, float]]) -> list[list[int]]:
    """Fronts of points taken in lexicographic order, each into the first front none of whose points dominates
    it: in a front, the last point taken has the least second value, so it alone need be compared, and a point
    dominated by a front is dominated by every earlier one, so the first such front is found by bisection."""
    fronts: list[list[int]] = []
    for index in sorted(range(len(points)), key=lambda i: (points[i], i)):
        x, y = points[index]
        low, high = 0, len(fronts)
        while low < high:
            middle = (low + high) // 2
            last_x, last_y = points[fronts[middle][-1]]
            if last_y < y or (last_y == y and last_x < x):  # the front's last point dominates this one
                low = middle + 1
            else:
                high = middle
        if low == len(fronts):
            fronts.append([])
        fronts[low].append(index)
    return [sorted(front) for front in fronts]


def crowding_distance(points: Sequence[Point], front: Sequence[int]) -> dict[int, float]:
    """NSGA-II crowding distance of each index in ``front``, measured among that front only.

    The extreme points of every objective get infinity, so the ends of a front are always kept; the others
    get the sum over objectives of their neighbours' normalised gap. Fronts of one or two points are all
    boundary points. A vector repeated in the front is measured once, at its lowest index; the later copies
    add no spread and get 0, so survival prefers a distinct point to a copy.
    """
    distinct = list({tuple(points[index]): index for index in sorted(front, reverse=True)}.values())[::-1]
    distance = {index: 0.0 for index in front}
    if len(distinct) <= 2:
        distance.update({index: math.inf for index in distinct})
        return distance
    for objective in range(len(points[distinct[0]])):
        ordered = sorted(distinct, key=lambda index: (points[index][objective], index))
        low, high = points[ordered[0]][objective], points[ordered[-1]][objective]
        distance[ordered[0]] = distance[ordered[-1]] = math.inf
        span = high - low
        # A flat or unbounded objective says nothing about spacing; it would only add zeros or NaNs.
        if not math.isfinite(span) or span <= 0:
            continue
        for before, index, after in zip(ordered, ordered[1:], ordered[2:]):
            distance[index] += (points[after][objective] - points[before][objective]) / span
    return distance


def nsga2_order(points: Sequence[Point]) -> list[int]:
    """All indices, best first: by front, then by descending crowding distance, then by index."""
    order: list[int] = []
    for front in non_dominated_sort(points):
        distance = crowding_distance(points, front)
        order.extend(sorted(front, key=lambda index: (-distance[index], index)))
    return order
