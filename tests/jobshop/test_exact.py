"""CP-SAT's reference (problems/jobshop/exact.py): the published optima of ft06 and ft10, and brute force on a
tiny shop."""

from __future__ import annotations

import itertools

import pytest

from problems.jobshop import exact, instances, references
from problems.jobshop.shop import Shop, makespan_of, schedule_error


def test_cpsat_solves_ft06_to_its_published_optimum_55(ft06_file):
    [ft06] = instances.load(ft06_file)
    assert ft06.id == "ft06" and ft06.group == "6x6"
    solution = exact.solve(ft06.data["jobs"], ft06.data["machines"], 5.0)
    assert (solution.makespan, solution.bound, solution.status) == (55, 55, "optimal")
    assert not schedule_error(ft06.data["jobs"], 6, solution.starts)
    assert makespan_of(ft06.data["jobs"], solution.starts) == 55


@pytest.mark.slow
def test_cpsat_solves_ft10_to_its_published_optimum_930(ft10_file):
    # About 19 deterministic seconds on one worker: 29-75 s of wall time on a 2-core machine, by its load.
    [ft10] = instances.load(ft10_file)
    solution = exact.solve(ft10.data["jobs"], ft10.data["machines"], 60.0)
    assert (solution.makespan, solution.bound, solution.status) == (930, 930, "optimal")
    assert not schedule_error(ft10.data["jobs"], 10, solution.starts)


def test_a_short_limit_on_ft10_reports_a_feasible_schedule_above_a_proven_bound(ft10_file):
    [ft10] = instances.load(ft10_file)
    solution = exact.solve(ft10.data["jobs"], 10, 0.2)
    assert solution.status == "feasible"
    assert references.lower_bound(ft10.data) <= solution.bound < 930 < solution.makespan
    assert not schedule_error(ft10.data["jobs"], 10, solution.starts)


def brute_force(jobs: list, machines: int) -> int:
    """The shortest makespan over every order of the operations on each machine (semi-active schedules):
    longest paths in the disjunctive graph, orders that make a cycle skipped."""
    on_machine = [
        [(j, k) for j, ops in enumerate(jobs) for k, (m, _) in enumerate(ops) if m == machine]
        for machine in range(machines)
    ]
    best = None
    for orders in itertools.product(*(itertools.permutations(ops) for ops in on_machine)):
        before = {(j, k): [(j, k - 1)] if k else [] for j, ops in enumerate(jobs) for k in range(len(ops))}
        for order in orders:
            for a, b in zip(order, order[1:]):
                before[b].append(a)
        end, pending = {}, set(before)
        while pending:
            ready = [op for op in pending if all(p in end for p in before[op])]
            if not ready:
                break  # a cycle: no schedule has these orders
            for j, k in ready:
                end[(j, k)] = max((end[p] for p in before[(j, k)]), default=0) + jobs[j][k][1]
                pending.discard((j, k))
        if not pending:
            value = max(end.values())
            best = value if best is None else min(best, value)
    return best


def giffler_thompson_best(jobs: list, machines: int) -> int:
    """The shortest makespan over every sequence of conflict-set choices: the runner's scheme reaches it."""
    best = None

    def walk(log: list[int]) -> None:
        nonlocal best
        shop = Shop(jobs, machines)
        for job in log:
            shop.schedule(job)
        if shop.finished():
            best = shop.makespan() if best is None else min(best, shop.makespan())
            return
        for job in shop.conflict_set()[0]:
            walk([*log, job])

    walk([])
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cpsat_optimum_equals_brute_force_and_the_best_active_schedule_on_a_tiny_shop(seed):
    jobs = instances.generate(3, 3, *instances.seeds_of(seed))
    jobs[seed % 3][1][1] = 1  # vary the shapes a little beyond the generator's
    solution = exact.solve(jobs, 3, 5.0)
    assert solution.status == "optimal"
    assert solution.makespan == brute_force(jobs, 3) == giffler_thompson_best(jobs, 3)
