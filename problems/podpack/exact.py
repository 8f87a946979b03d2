"""CP-SAT's placement of a snapshot: the most pending pods placed at once, lexicographically by priority (high
first), as Priority Matters places them. Trusted side; OR-Tools is imported only when a snapshot is solved.

The model (``formulation.py``) counts pods by type and fills each node's GPUs by patterns; its objective is one
weighted sum, exactly lexicographic. CP-SAT's proven bound on it decodes into the lexicographically largest
placed-per-priority under it (``decode_bound``).

The limit is in *deterministic* seconds, with a fixed seed: the same answer on every machine and under any
load. Two phases share it. The first (``PHASE_ONE``, half the limit) is one search with CP-SAT's strongest
linear relaxation (``linearization_level`` 2), which proves the smaller snapshots optimal quickly; the second,
unless the first proved the optimum, is CP-SAT's portfolio with its LNS (``interleave_search``: run in
batches of ``workers`` tasks, deterministic for a given number of them), which improves placements on the
larger ones, from the first phase's best and under its proven bound. Either alone did worse. The search
starts from ``hint``, else from ``greedy.greedy``, a portfolio of best-fit passes. When the limit runs out
before CP-SAT takes the start up (its presolve comes first), the start is the answer, with no proven bound
(the pod counts). CP-SAT's own symmetry handling is off (``symmetry_level`` 0): its presolve then fixes
variables against the hint and drops it (on 100 nodes the answer fell below the start). Every answer is
replayed on ``cluster.Cluster``.

An optional ``wall_limit`` (seconds from the call's start, model building included) caps the phases as well,
shared the same way, for benchmarks that reproduce a wall-clock scheduling window (Priority Matters' 1 s and
10 s). Its answers depend on the machine and its load; references keep the deterministic limit alone.

Measured on trace snapshots (one worker, a 2-core machine; 4 at load 1.1 and the test split's 8 at 1.15 per
size): 10 nodes optimal in 0.01 deterministic seconds, one in 7; 25 nodes optimal in 0.1-0.6; 50 nodes
optimal in 3.4-5.7 but one (at 60: 2 low pods short of its bound); 100 nodes not proven, 13-38 low pods short
of the bound at a limit of 10, 3-11 at 60. Wall time is 1-4 times the deterministic time; the portfolio's
batches overrun the limit by up to 30%.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from problems.podpack.cluster import FULL, PRIORITIES, Cluster
from problems.podpack.formulation import Model, canonical, weights
from problems.podpack.greedy import greedy

__all__ = ["PHASE_ONE", "SEED", "Solution", "decode_bound", "greedy", "solve", "weights"]

SEED = 1
PHASE_ONE = 0.5  # the share of the limits for the first phase (module docstring)


@dataclass(frozen=True)
class Solution:
    placed: tuple[int, ...]  # pods placed, per priority (index = priority)
    bound: tuple[int, ...]  # the proven bound on ``placed``, decoded lexicographically (``decode_bound``)
    status: str  # "optimal" or "feasible"
    assignment: list  # per pod: None (pending) or [node, [gpu, ...]]
    seconds: float  # wall, model building included
    deterministic_seconds: float
    gpu_allocated: int  # milli-GPU of the placed pods


def decode_bound(bound: int, counts: tuple[int, ...]) -> tuple[int, ...]:
    """The lexicographically largest pods-placed-per-priority (high first), capped by ``counts``, whose weighted
    value (``weights``) is at most ``bound``."""
    result = [0] * len(counts)
    rest = max(bound, 0)
    for priority, weight in reversed(list(enumerate(weights(counts)))):
        result[priority] = min(counts[priority], rest // weight)
        rest -= result[priority] * weight
    return tuple(result)


def solve(
    nodes: list,
    pods: list,
    deterministic_limit: float,
    hint: list | None = None,
    workers: int = 1,
    wall_limit: float | None = None,
) -> Solution:
    """The most pods placed, lexicographically by priority, within ``deterministic_limit`` deterministic seconds
    of CP-SAT and, if given, ``wall_limit`` seconds of wall time from this call on; ``hint`` is a feasible
    assignment (``Solution.assignment``'s format) to start from. ``workers`` threads run the second phase
    (module docstring); without a wall limit the answer is the same again for the same number."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    for p, row in enumerate(pods):  # the shapes the trace allows (trace.load_pods) and the model assumes
        if not (row[2] == row[3] == 0 or (row[2] == 1 and 0 < row[3] <= FULL) or (row[2] > 1 and row[3] == FULL)):
            raise ValueError(f"podpack exact: pod {p} asks for {row[2]} GPU(s) x {row[3]} milli-GPU")
    model = Model(nodes, pods, cp_model.CpModel())
    start = _checked(nodes, pods, hint) if hint is not None else greedy(nodes, pods)
    assignment, state = start, _replay(nodes, pods, start)
    placed = _placed(pods, state)
    ceiling = None  # the best proven bound on the objective
    optimal, spent = False, 0.0
    for portfolio in (False, True):
        share = PHASE_ONE if not portfolio else 1.0
        budget = deterministic_limit * share - spent
        wall = wall_limit * share - (time.perf_counter() - started) if wall_limit is not None else math.inf
        if budget <= 0 or wall <= 0:  # with a wall limit, model building may have taken the first phase's share
            continue
        model.cp.clear_hints()
        model.hint(canonical(model, assignment))
        solver = cp_model.CpSolver()
        solver.parameters.max_deterministic_time = budget
        if wall_limit is not None:
            solver.parameters.max_time_in_seconds = wall
        solver.parameters.random_seed = SEED
        solver.parameters.symmetry_level = 0  # its presolve's symmetry fixing drops the hint (module docstring)
        if portfolio:  # CP-SAT's portfolio, LNS too, in deterministic batches of ``workers`` tasks
            solver.parameters.num_workers = int(workers)
            solver.parameters.interleave_search = True
        else:  # one search with CP-SAT's strongest linear relaxation
            solver.parameters.num_workers = 1
            solver.parameters.linearization_level = 2
        code = solver.solve(model.cp)
        spent += solver.deterministic_time
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.UNKNOWN):
            raise RuntimeError(f"podpack exact: CP-SAT found no placement ({solver.status_name(code)})")
        if code == cp_model.UNKNOWN:  # the limit ran out before CP-SAT took the start up (presolve comes first)
            continue
        found = model.decode(solver)
        found_state = _replay(nodes, pods, found)
        found_placed = _placed(pods, found_state)
        if model.value(found_placed) != round(solver.objective_value):
            raise RuntimeError(f"podpack exact: the placement {found_placed} is not CP-SAT's objective")
        if found_placed[::-1] >= placed[::-1]:  # never below its hint, which CP-SAT takes up first: a safeguard
            assignment, state, placed = found, found_state, found_placed
        bound = math.floor(solver.best_objective_bound + 1e-6)
        ceiling = bound if ceiling is None else min(ceiling, bound)
        if code == cp_model.OPTIMAL:
            optimal = True
            break
        if model.c:
            model.cp.add(model.objective <= ceiling)  # the next phase starts from the proven bound
    if optimal and model.value(placed) != ceiling:
        raise RuntimeError(f"podpack exact: CP-SAT's optimum is not {placed}")
    bound = decode_bound(ceiling, model.counts) if ceiling is not None else model.counts  # else nothing proven
    if bound[::-1] < placed[::-1]:  # a proven bound cannot lie below a placement
        raise RuntimeError(f"podpack exact: bound {bound} is below the placement {placed}")
    return Solution(
        placed=placed,
        bound=bound,
        status="optimal" if optimal else "feasible",
        assignment=assignment,
        seconds=time.perf_counter() - started,
        deterministic_seconds=spent,
        gpu_allocated=sum(pods[p][2] * pods[p][3] for p in state.where),
    )


def _placed(pods: list, state: Cluster) -> tuple[int, ...]:
    return tuple(sum(1 for p in state.where if pods[p][5] == k) for k in range(PRIORITIES))


def _checked(nodes: list, pods: list, hint: list) -> list:
    """The hint, once it is seen to fit; a ValueError naming the first decision that does not."""
    if len(hint) != len(pods):
        raise ValueError(f"podpack exact: a hint has one decision per pod ({len(pods)}), not {len(hint)}")
    state = Cluster(nodes, pods)
    for p, decision in enumerate(hint):
        if decision is None:
            continue
        node, gpus = decision[0], tuple(decision[1])
        error = state.fit_error(p, node, gpus) if 0 <= node < len(nodes) else f"no node {node}"
        if error:
            raise ValueError(f"podpack exact: the hint's pod {p} does not fit: {error}")
        state.place(p, node, gpus)
    return [None if d is None else [d[0], list(d[1])] for d in hint]


def _replay(nodes: list, pods: list, assignment: list) -> Cluster:
    state = Cluster(nodes, pods)
    for p, decision in enumerate(assignment):
        if decision is not None:
            error = state.fit_error(p, decision[0], tuple(decision[1]))
            if error:
                raise RuntimeError(f"podpack exact: the model's placement of pod {p} does not fit: {error}")
            state.place(p, decision[0], tuple(decision[1]))
    return state
