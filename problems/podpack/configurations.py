"""Node configurations (Dantzig-Wolfe): a proven bound on a snapshot's placement and a placement near it, for the
large snapshots where CP-SAT's own search stalls (``exact.py`` runs it between its two phases).

A *configuration* is what one node hosts: how many pods of each type (``formulation.Model``'s types), with
their GPUs. The master linear program picks, per *kind* of node (nodes with the same CPU, memory, GPUs and
model), how many of its nodes follow each configuration, the pods of each type at most as many as there are,
maximising the same lexicographic weights as the CP-SAT model. Its columns come from pricing: per kind, a CP-SAT
model of one node of that kind (``formulation.Model`` on that node alone, which is exact for one node) finds the
configuration of the highest reduced cost under the master's duals. Its linear relaxation is at least as strong
as any per-node one: CPU, memory and GPU fragmentation on each node are all in the columns.

The bound is Lagrangian, in exact integer arithmetic: for any prices ``u >= 0`` on the pod types, ``sum(count *
u) + sum(nodes of a kind * max(0, best reduced-cost configuration of the kind))`` bounds every placement, and
pricing's own proven bounds stand in for the best when it stops short. The prices are the master's duals,
rounded to thousandths.

The placement is a dive: solve the master, fix the configurations it uses at least once (as many times as the
integer part of their value; the largest fraction when none is), take those nodes and pods out, generate
columns again for what is left (pricing then allows only the pods left), and so on until every node is fixed.
On the test split's 100-node snapshots the dive met the bound, proving both optimal, where CP-SAT alone proved
neither in 60 deterministic seconds (docs/podpack.md).

Deterministic: the master is GLOP (deterministic), pricing one CP-SAT worker with a fixed seed; the budget is
the pricing's deterministic seconds, and when it runs out the dive stops where it is (its placement so far).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

from problems.podpack.formulation import Model, weights

DUAL_SCALE = 1000  # prices are rounded to 1 / DUAL_SCALE of a weight
PRICING_LIMIT = 2.0  # deterministic seconds per pricing call at most
SEED = 1


class Configurations:
    """Column generation over node configurations for the snapshot of ``model`` (module docstring)."""

    def __init__(self, model: Model, start: list, budget: float, deadline: float | None = None):
        """``start`` is a feasible assignment (its nodes' contents are the first columns); ``budget`` is in
        deterministic seconds of pricing, ``deadline`` a ``time.perf_counter()`` time that stops it too."""
        from ortools.sat.python import cp_model

        self.cp_model, self.model, self.budget, self.deadline = cp_model, model, budget, deadline
        self.spent = 0.0
        weight = weights(model.counts)
        self.weight = [weight[row[5]] for row in model.row]
        self.count = [len(members) for members in model.types]
        kinds: dict[tuple, list[int]] = defaultdict(list)
        for n, node in enumerate(model.nodes):
            kinds[tuple(node)].append(n)
        self.kinds = list(kinds.values())
        self.pricing = []
        for members in self.kinds:
            local = Model([model.nodes[members[0]]], model.pods, cp_model.CpModel())
            to_global = {t: model.type_of[local.types[t][0]] for t in range(len(local.types))}
            self.pricing.append((local, to_global))
        self.columns: list[tuple[int, dict[int, list]]] = []  # (kind, {type: [gpus of each pod]})
        self._seen: set[tuple] = set()
        kind_of = {n: k for k, members in enumerate(self.kinds) for n in members}
        hosted: list[dict[int, list]] = [defaultdict(list) for _ in model.nodes]
        for p, decision in enumerate(start):
            if decision is not None:
                hosted[decision[0]][model.type_of[p]].append(list(decision[1]))
        for n, column in enumerate(hosted):
            self._add(kind_of[n], column)

    def bound(self) -> int | None:
        """The proven bound on the model's objective from column generation at the root (None if the budget ran
        out before one pricing round finished)."""
        return self._generate(self.count, [len(members) for members in self.kinds])[1]

    def dive(self) -> list:
        """A placement (``exact.Solution.assignment``'s format) from the dive (module docstring)."""
        count, left = list(self.count), [len(members) for members in self.kinds]
        fixed: list[tuple[int, dict[int, list]]] = []
        while any(left) and not self._out():
            values, _ = self._generate(count, left)
            picks = [(j, math.floor(v + 1e-6)) for j, v in values.items() if v >= 1 - 1e-6]
            if not picks:
                fractional = [(v, -j) for j, v in values.items() if v > 1e-6]
                if not fractional:
                    break
                picks = [(-max(fractional)[1], 1)]
            for j, times in picks:
                kind, column = self.columns[j]
                for _ in range(min(times, left[kind])):
                    taken = {t: gpus[: count[t]] for t, gpus in column.items() if count[t]}
                    if not taken:
                        break
                    left[kind] -= 1
                    for t, gpus in taken.items():
                        count[t] -= len(gpus)
                    fixed.append((kind, taken))
        return self._assignment(fixed)

    def _generate(self, count: list[int], left: list[int]) -> tuple[dict[int, float], int | None]:
        """Columns for the master restricted to ``count`` pods per type and ``left`` nodes per kind, until no
        configuration prices out or the budget runs out: the master's last solution (column -> value) and the
        best Lagrangian bound seen."""
        from ortools.linear_solver import pywraplp

        best = None
        while True:
            lp = pywraplp.Solver.CreateSolver("GLOP")
            used = [j for j, (kind, _) in enumerate(self.columns) if left[kind]]
            x = {j: lp.NumVar(0, lp.infinity(), f"x{j}") for j in used}
            by_type = [lp.Constraint(-lp.infinity(), c) for c in count]
            by_kind = [lp.Constraint(-lp.infinity(), n) for n in left]
            objective = lp.Objective()
            for j in used:
                kind, column = self.columns[j]
                by_kind[kind].SetCoefficient(x[j], 1)
                for t, gpus in column.items():
                    by_type[t].SetCoefficient(x[j], min(len(gpus), count[t]))
                objective.SetCoefficient(x[j], sum(self.weight[t] * min(len(g), count[t]) for t, g in column.items()))
            objective.SetMaximization()
            if lp.Solve() != lp.OPTIMAL:
                raise RuntimeError("podpack configurations: the master program has no optimum")
            values = {j: x[j].solution_value() for j in used}
            prices = [max(0, round(row.dual_value() * DUAL_SCALE)) for row in by_type]
            total, added, complete = sum(c * u for c, u in zip(count, prices)), False, True
            for kind, (local, to_global) in enumerate(self.pricing):
                if not left[kind]:
                    continue
                if self._out():
                    complete = False
                    break
                found, ceiling = self._price(local, to_global, prices, count)
                if ceiling is None:
                    complete = False
                    break
                total += left[kind] * max(0, ceiling)
                reduced = sum((self.weight[t] * DUAL_SCALE - prices[t]) * len(g) for t, g in found.items())
                if reduced > by_kind[kind].dual_value() * DUAL_SCALE + 1e-6:
                    added |= self._add(kind, found)
            if complete:
                best = total // DUAL_SCALE if best is None else min(best, total // DUAL_SCALE)
            if not added or not complete:
                return values, best

    def _price(self, local: Model, to_global: dict, prices: list[int], count: list[int]) -> tuple[dict, int | None]:
        """The best configuration of one node at ``prices`` (trimmed to ``count``) and the proven bound on its
        reduced cost (scaled by ``DUAL_SCALE``); None for the bound when the budget ran out first."""
        cp_model = self.cp_model
        gain = {t: self.weight[g] * DUAL_SCALE - prices[g] for t, g in to_global.items()}
        for (t, n), var in local.c.items():  # at most the pods of the type left
            domain = local.cp.proto.variables[var.index].domain
            domain.clear()
            domain.extend([0, min(local.top[t, n], count[to_global[t]])])
        local.cp.maximize(sum(gain[t] * var for (t, _), var in local.c.items()))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = SEED
        solver.parameters.max_deterministic_time = min(PRICING_LIMIT, self.budget - self.spent)
        if self.deadline is not None:
            solver.parameters.max_time_in_seconds = max(0.0, self.deadline - time.perf_counter())
        code = solver.solve(local.cp)
        self.spent += solver.deterministic_time
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # the empty node is feasible: out of time
            return {}, None
        column: dict[int, list] = defaultdict(list)
        for p, decision in enumerate(local.decode(solver)):
            t = to_global[local.type_of[p]] if p in local.type_of else None
            if decision is not None and t is not None:
                column[t].append(decision[1])
        return dict(column), math.floor(solver.best_objective_bound + 1e-6)

    def _out(self) -> bool:
        return self.spent >= self.budget or (self.deadline is not None and time.perf_counter() >= self.deadline)

    def _add(self, kind: int, column: dict) -> bool:
        key = (kind, tuple(sorted((t, len(g)) for t, g in column.items() if g)))
        if len(key[1]) == 0 or key in self._seen:
            return False
        self._seen.add(key)
        self.columns.append((kind, {t: g for t, g in column.items() if g}))
        return True

    def _assignment(self, fixed: list[tuple[int, dict[int, list]]]) -> list:
        """Fixed configurations on nodes of their kind, each type's pods in index order."""
        assignment: list = [None] * len(self.model.pods)
        free = [list(members) for members in self.kinds]
        taken = [0] * len(self.model.types)
        for kind, column in fixed:
            n = free[kind].pop(0)
            for t, gpus in column.items():
                for p, g in zip(self.model.types[t][taken[t] : taken[t] + len(gpus)], gpus):
                    assignment[p] = [n, list(g)]
                taken[t] += len(gpus)
        return assignment
