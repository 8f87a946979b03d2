"""CP-SAT's makespan for a job shop: the reference of ``jobshop``. Trusted side; OR-Tools loads only when called.

The model is the classic one: an interval variable per operation, a no-overlap constraint per machine, each
job's operations in order, and the makespan at least every job's last end, minimised. The search starts from
the most-work-remaining dispatch (MWKR, ``shop.Shop``), so even a short limit has a schedule to improve.

The limit is in *deterministic* seconds, on one worker with a fixed seed: the same answer on every machine and
under any load, never cut short by a wall clock. The answer is ``optimal`` when CP-SAT proves it, else
``feasible`` with its best schedule and its proven lower bound. Every answer is checked with
``shop.schedule_error``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from problems.jobshop.shop import Shop, makespan_of, schedule_error

SEED = 1


@dataclass(frozen=True)
class Solution:
    makespan: int  # of the best schedule found
    bound: int  # CP-SAT's proven lower bound on the makespan (= makespan when optimal)
    status: str  # "optimal" or "feasible"
    starts: list  # per job, the start of each operation
    seconds: float  # wall, model building included
    deterministic_seconds: float


def mwkr_starts(jobs: list, machines: int) -> list[list[int]]:
    """The active schedule that always starts the conflict set's job with the most work remaining."""
    shop = Shop(jobs, machines)
    remaining = [sum(d for _, d in ops) for ops in jobs]
    while not shop.finished():
        conflict, _, _ = shop.conflict_set()
        job = max(conflict, key=lambda j: (remaining[j], -j))
        remaining[job] -= jobs[job][shop.next_op[job]][1]
        shop.schedule(job)
    return shop.starts


def solve(jobs: list, machines: int, deterministic_limit: float, workers: int = 1) -> Solution:
    """The shortest makespan CP-SAT finds within ``deterministic_limit`` deterministic seconds."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    horizon = sum(d for ops in jobs for _, d in ops)
    model = cp_model.CpModel()
    starts, ends, per_machine = [], [], [[] for _ in range(machines)]
    for j, ops in enumerate(jobs):
        row_starts, row_ends = [], []
        for k, (machine, duration) in enumerate(ops):
            start = model.new_int_var(0, horizon, f"s{j}_{k}")
            end = model.new_int_var(0, horizon, f"e{j}_{k}")
            per_machine[machine].append(model.new_interval_var(start, duration, end, f"i{j}_{k}"))
            if row_ends:
                model.add(start >= row_ends[-1])
            row_starts.append(start)
            row_ends.append(end)
        starts.append(row_starts)
        ends.append(row_ends)
    for intervals in per_machine:
        model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, [row[-1] for row in ends if row])
    model.minimize(makespan)
    for row, values in zip(starts, mwkr_starts(jobs, machines)):
        for var, value in zip(row, values):
            model.add_hint(var, value)
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = deterministic_limit
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = SEED
    code = solver.solve(model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"jobshop exact: CP-SAT found no schedule ({solver.status_name(code)})")
    found = [[int(solver.value(var)) for var in row] for row in starts]
    fault = schedule_error(jobs, machines, found)
    if fault:
        raise RuntimeError(f"jobshop exact: CP-SAT's schedule is infeasible ({fault})")
    value = makespan_of(jobs, found)
    optimal = code == cp_model.OPTIMAL
    bound = value if optimal else int(-(-solver.best_objective_bound // 1))
    return Solution(
        makespan=value,
        bound=bound,
        status="optimal" if optimal else "feasible",
        starts=found,
        seconds=time.perf_counter() - started,
        deterministic_seconds=solver.deterministic_time,
    )
