"""CP-SAT's placement of a snapshot: the most pending pods placed at once, lexicographically by priority (high
first), as Priority Matters places them. Trusted side; OR-Tools is imported only when a snapshot is solved.

The model (``formulation.py``) counts pods by type and fills each node's GPUs by patterns; its objective is one
weighted sum, exactly lexicographic. Proven bounds on it decode into the lexicographically largest
placed-per-priority under them (``decode_bound``).

The limit is in *deterministic* seconds, with a fixed seed: the same answer on every machine and under any
load. Stages share it, each from the best placement so far and under the best proven bound:

1. CP-SAT on the model, one search with its strongest linear relaxation (``linearization_level`` 2), for
   ``QUICK`` of the limit: it proves the small snapshots optimal at once (only before stage 2).
2. Column generation over node configurations (``configurations.py``), until ``CONFIGURATIONS`` of the limit
   is used: its bound, which CP-SAT's own relaxation did not reach on the large snapshots, and its dive, a
   placement that often meets it, which then is optimal.
3. CP-SAT again, the same search for ``PHASE_ONE`` of what is left, then its portfolio with LNS
   (``interleave_search``: in batches of ``workers`` tasks, deterministic for a given number of them).

The first start is ``hint``, else ``greedy.greedy``, a portfolio of best-fit passes. When the limit runs out
before CP-SAT takes the start up (its presolve comes first), the best placement so far is the answer.
CP-SAT's own symmetry handling is off (``symmetry_level`` 0): its presolve then fixes variables against the
hint and drops it (on 100 nodes the answer fell below the start). Every answer is replayed on
``cluster.Cluster``.

An optional ``wall_limit`` (seconds from the call's start, model building included) caps the stages as well,
shared the same way, for benchmarks that reproduce a wall-clock scheduling window (Priority Matters' 1 s and
10 s). Its answers depend on the machine and its load; references keep the deterministic limit alone.

Figures (the time to optimality per snapshot size, with and without the configurations stage): docs/podpack.md,
CP-SAT, from ``benchmarks/bench_podpack.py --part cpsat``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from problems.podpack.cluster import FULL, PRIORITIES, Cluster
from problems.podpack.configurations import Configurations
from problems.podpack.formulation import Model, canonical, weights
from problems.podpack.greedy import greedy

__all__ = ["CONFIGURATIONS", "PHASE_ONE", "QUICK", "SEED", "Solution", "decode_bound", "greedy", "solve", "weights"]

SEED = 1
QUICK = 0.1  # the limits' share for CP-SAT's first, quick search (module docstring)
CONFIGURATIONS = 0.8  # the limits' share used up when column generation stops (module docstring)
PHASE_ONE = 0.5  # the share of what is left for CP-SAT's strong search (module docstring)


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
    configurations: bool = True,
) -> Solution:
    """The most pods placed, lexicographically by priority, within ``deterministic_limit`` deterministic seconds
    of CP-SAT and, if given, ``wall_limit`` seconds of wall time from this call on; ``hint`` is a feasible
    assignment (``Solution.assignment``'s format) to start from. ``workers`` threads run the second phase
    (module docstring); without a wall limit the answer is the same again for the same number. Without
    ``configurations`` the CP-SAT model runs alone, stage 3 with the whole limit (Priority Matters' solver;
    benchmarks compare the two)."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    for p, row in enumerate(pods):  # the shapes the trace allows (trace.load_pods) and the model assumes
        if not (row[2] == row[3] == 0 or (row[2] == 1 and 0 < row[3] <= FULL) or (row[2] > 1 and row[3] == FULL)):
            raise ValueError(f"podpack exact: pod {p} asks for {row[2]} GPU(s) x {row[3]} milli-GPU")
    model = Model(nodes, pods, cp_model.CpModel())
    best = _Incumbent(nodes, pods, model, _checked(nodes, pods, hint) if hint is not None else greedy(nodes, pods))
    deadline = started + wall_limit if wall_limit is not None else math.inf

    def left(share: float) -> tuple[float, float]:  # deterministic and wall seconds, up to a share of the limits
        wall = started + wall_limit * share - time.perf_counter() if wall_limit is not None else math.inf
        return deterministic_limit * share - best.spent, wall

    if configurations:
        best.cp_sat(cp_model, *left(QUICK), portfolio=False, workers=1)
    if configurations and not best.optimal:
        budget, wall = left(CONFIGURATIONS)
        stage = Configurations(
            model, best.assignment, budget, time.perf_counter() + wall if wall_limit is not None else None
        )
        bound = stage.bound()
        if bound is not None:
            best.bound(bound)
            if not best.optimal:
                best.offer(stage.dive())
        best.spent += stage.spent
    base_spent, base_time = best.spent, time.perf_counter() if configurations else started
    for share, portfolio in ((PHASE_ONE, False), (1.0, True)):  # of what the limits have left
        if not best.optimal:
            best.cp_sat(
                cp_model,
                base_spent + (deterministic_limit - base_spent) * share - best.spent,
                base_time + (deadline - base_time) * share - time.perf_counter(),
                portfolio=portfolio,
                workers=workers,
            )
    placed, ceiling = best.placed, best.ceiling
    bound = decode_bound(ceiling, model.counts) if ceiling is not None else model.counts  # else nothing proven
    if bound[::-1] < placed[::-1]:  # a proven bound cannot lie below a placement
        raise RuntimeError(f"podpack exact: bound {bound} is below the placement {placed}")
    return Solution(
        placed=placed,
        bound=bound,
        status="optimal" if best.optimal else "feasible",
        assignment=best.assignment,
        seconds=time.perf_counter() - started,
        deterministic_seconds=best.spent,
        gpu_allocated=sum(pods[p][2] * pods[p][3] for p in best.state.where),
    )


class _Incumbent:
    """The best placement so far, the best proven bound on the objective and the deterministic time spent."""

    def __init__(self, nodes: list, pods: list, model: Model, start: list):
        self.nodes, self.pods, self.model = nodes, pods, model
        self.assignment, self.state = start, _replay(nodes, pods, start)
        self.placed = _placed(pods, self.state)
        self.ceiling: int | None = None
        self.spent = 0.0

    @property
    def optimal(self) -> bool:
        return self.ceiling is not None and self.model.value(self.placed) == self.ceiling

    def offer(self, assignment: list) -> None:
        """Keep ``assignment`` if it places more, lexicographically; it must fit (a RuntimeError if not)."""
        state = _replay(self.nodes, self.pods, assignment)
        placed = _placed(self.pods, state)
        if placed[::-1] > self.placed[::-1]:
            self.assignment, self.state, self.placed = assignment, state, placed

    def bound(self, ceiling: int) -> None:
        """A proven bound on the objective; the CP-SAT model is held under the best one."""
        if self.ceiling is None or ceiling < self.ceiling:
            self.ceiling = ceiling
            if self.model.c:
                self.model.cp.add(self.model.objective <= ceiling)

    def cp_sat(self, cp_model, budget: float, wall: float, portfolio: bool, workers: int) -> None:
        """One CP-SAT search from the best placement: its strongest linear relaxation on one worker, or its
        portfolio with LNS (module docstring)."""
        if budget <= 0 or wall <= 0:  # with a wall limit, model building may have taken the whole window
            return
        model = self.model
        model.cp.clear_hints()
        model.hint(canonical(model, self.assignment))
        solver = cp_model.CpSolver()
        solver.parameters.max_deterministic_time = budget
        if wall < math.inf:
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
        self.spent += solver.deterministic_time
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.UNKNOWN):
            raise RuntimeError(f"podpack exact: CP-SAT found no placement ({solver.status_name(code)})")
        if code == cp_model.UNKNOWN:  # the limit ran out before CP-SAT took the start up (presolve comes first)
            return
        found = model.decode(solver)
        if model.value(_placed(self.pods, _replay(self.nodes, self.pods, found))) != round(solver.objective_value):
            raise RuntimeError("podpack exact: a placement is not CP-SAT's objective")
        self.offer(found)  # never below its hint, which CP-SAT takes up first: a safeguard
        self.bound(math.floor(solver.best_objective_bound + 1e-6))
        if code == cp_model.OPTIMAL and not self.optimal:
            raise RuntimeError(f"podpack exact: CP-SAT's optimum is not {self.placed}")


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
