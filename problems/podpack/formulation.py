"""The CP-SAT model of a snapshot (``exact.py`` solves it): which pods go where, counted by pod type, with each
node's GPUs filled by patterns, and the objective that makes placing pods lexicographic by priority.

The model counts rather than names pods. Pods with the same row are interchangeable, so they form a *type*
(the trace repeats rows a lot: the 577 pods of a 100-node snapshot are 71 types), and ``c[t, n]`` (an integer)
is how many pods of type ``t`` node ``n`` hosts, only where the type fits on the empty node, bounded by what
the node could hold of them; a type's pods are handed out in index order. Per node: CPU and memory
capacities, and its GPUs by *patterns* (Gilmore-Gomory): every maximal way of filling one GPU with the shares
that could go on the node (each at most as often as such pods exist), ``z[q, n]`` GPUs of the node following
pattern ``q``; the whole GPUs of the whole-GPU pods (``num_gpu * c``) and the patterns' GPUs add up to at most
the node's GPUs, and each share's pods on the node to at most its slots in the patterns. Its linear
relaxation is the strong bin-packing one, and a node's GPUs have no symmetry left. Where the patterns would
be too many (over 400), the node is modelled GPU by GPU instead: ``s[m, n, g]`` sharing pods of share ``m``
on GPU ``g``, a boolean ``w[n, g]`` for a GPU taken whole, at most 1000 milli-GPU a GPU, GPUs ordered by
load and whole ones first (every solution has such a permutation). Identical nodes are left symmetric:
ordering them (by the CPU they give out) made CP-SAT much slower to improve and prove (``exact.py`` also turns
CP-SAT's own symmetry handling off, as it drops the hint).

The objective is one weighted sum of the pods placed, exactly lexicographic (``weights``): a low pod weighs 1,
a mid pod one more than all low pods together, a high pod one more than all mid and low pods together.
"""

from __future__ import annotations

from collections import defaultdict

from problems.podpack.cluster import FULL, PRIORITIES
from problems.podpack.trace import fits_empty


def weights(counts: tuple[int, ...]) -> list[int]:
    """Per priority, the weight of one placed pod that makes the weighted sum lexicographic (high first), given
    how many pods of each priority could be placed."""
    result, weight = [], 1
    for count in counts:
        result.append(weight)
        weight *= count + 1
    return result


class Model:
    """The CP-SAT model (module docstring) and its translation from and to assignments."""

    def __init__(self, nodes: list, pods: list, cp, patterns: bool = True):
        self.nodes, self.pods, self.cp = nodes, pods, cp
        by_row: dict[tuple, list[int]] = defaultdict(list)
        for p, row in enumerate(pods):
            by_row[_pod_key(row)].append(p)
        self.types = [
            members for members in by_row.values() if any(fits_empty(node, pods[members[0]]) for node in nodes)
        ]
        self.row = [pods[members[0]] for members in self.types]
        self.type_of = {p: t for t, members in enumerate(self.types) for p in members}
        self.counts = tuple(
            sum(len(m) for m in self.types if pods[m[0]][5] == k) for k in range(PRIORITIES)
        )  # placeable pods per priority
        self.c: dict[tuple[int, int], object] = {}  # (type, node) -> count
        self.top: dict[tuple[int, int], int] = {}  # (type, node) -> c's upper bound
        self.s: dict[tuple[int, int, int], object] = {}  # (milli, node, gpu) -> sharing pods (per-GPU nodes)
        self.w: dict[tuple[int, int], object] = {}  # (node, gpu) -> taken whole (per-GPU nodes)
        self.z: dict[int, list[tuple[tuple, object]]] = {}  # node -> [(pattern, GPUs with it)] (pattern nodes)
        self.shares: dict[int, tuple[list[int], list[int]]] = {}  # pattern node -> (shares, decreasing; caps)
        self.per_gpu: set[int] = set()  # nodes modelled GPU by GPU
        self.on_node: list[list[int]] = [[] for _ in nodes]
        for t, members in enumerate(self.types):
            for n, node in enumerate(nodes):
                if fits_empty(node, self.row[t]):
                    top = _most(node, self.row[t], len(members))
                    if top:
                        self.c[t, n], self.top[t, n] = cp.new_int_var(0, top, f"c{t}_{n}"), top
                        self.on_node[n].append(t)
        for t, members in enumerate(self.types):
            column = [n for n in range(len(nodes)) if (t, n) in self.c]
            if sum(self.top[t, n] for n in column) > len(members):
                cp.add(sum(self.c[t, n] for n in column) <= len(members))
        for n, node in enumerate(nodes):
            hosted = self.on_node[n]
            for resource in (0, 1):
                if sum(self.row[t][resource] * self.top[t, n] for t in hosted) > node[resource]:
                    cp.add(sum(self.row[t][resource] * self.c[t, n] for t in hosted) <= node[resource])
            sharing, whole = self._split(n)
            whole_sum = sum(self.row[t][2] * self.c[t, n] for t in whole)
            if not sharing:
                if sum(self.row[t][2] * self.top[t, n] for t in whole) > node[2]:
                    cp.add(whole_sum <= node[2])
                continue
            caps = {m: min(FULL // m, sum(self.top[t, n] for t in types)) for m, types in sharing.items()}
            found = _patterns(caps) if patterns else None
            if found is None:
                self._per_gpu(n, sharing, whole_sum, bool(whole))
            else:
                self._per_pattern(n, sharing, whole_sum, found, caps)
        weight = weights(self.counts)
        self.objective = sum(weight[self.row[t][5]] * v for (t, _), v in self.c.items())
        cp.maximize(self.objective)

    def value(self, placed: tuple[int, ...]) -> int:
        """The objective's value of pods placed per priority."""
        return sum(w * k for w, k in zip(weights(self.counts), placed))

    def _split(self, n: int) -> tuple[dict[int, list[int]], list[int]]:
        """The types on node ``n``: sharing ones by share, and whole-GPU ones."""
        sharing: dict[int, list[int]] = defaultdict(list)
        whole = []
        for t in self.on_node[n]:
            if self.row[t][2] and self.row[t][3] < FULL:
                sharing[self.row[t][3]].append(t)
            elif self.row[t][2]:
                whole.append(t)
        return sharing, whole

    def _per_pattern(self, n: int, sharing: dict, whole_sum, found: list[tuple], caps: dict[int, int]) -> None:
        cp, count = self.cp, self.nodes[n][2]
        shares = sorted(sharing, reverse=True)
        self.shares[n] = (shares, [caps[m] for m in shares])
        self.z[n] = [(q, cp.new_int_var(0, count, f"z{n}_{i}")) for i, q in enumerate(found)]
        cp.add(whole_sum + sum(v for _, v in self.z[n]) <= count)
        for j, m in enumerate(shares):
            cp.add(sum(self.c[t, n] for t in sharing[m]) <= sum(q[j] * v for q, v in self.z[n] if q[j]))

    def _per_gpu(self, n: int, sharing: dict, whole_sum, whole: bool) -> None:
        cp, count = self.cp, self.nodes[n][2]
        self.per_gpu.add(n)
        loads = []
        for g in range(count):
            load = []
            for m in sharing:
                self.s[m, n, g] = cp.new_int_var(0, FULL // m, f"s{m}_{n}_{g}")
                load.append(m * self.s[m, n, g])
            if whole:
                self.w[n, g] = cp.new_bool_var(f"w{n}_{g}")
                load.append(FULL * self.w[n, g])
            loads.append(sum(load))
            cp.add(loads[g] <= FULL)
        for m, types in sharing.items():
            cp.add(sum(self.c[t, n] for t in types) == sum(self.s[m, n, g] for g in range(count)))
        if whole:
            cp.add(whole_sum == sum(self.w[n, g] for g in range(count)))
        for g in range(count - 1):
            cp.add(loads[g] >= loads[g + 1])
            if whole:
                cp.add(self.w[n, g] >= self.w[n, g + 1])

    def hint(self, content: list[dict]) -> None:
        """Hint every variable from a canonical node-by-node content (``canonical``)."""
        for (t, n), var in self.c.items():
            self.cp.add_hint(var, content[n]["types"].get(t, 0))
        for (m, n, g), var in self.s.items():
            self.cp.add_hint(var, content[n]["gpus"][g][0].get(m, 0))
        for (n, g), var in self.w.items():
            self.cp.add_hint(var, content[n]["gpus"][g][1])
        for n, options in self.z.items():
            shares, caps = self.shares[n]
            used: dict[tuple, int] = defaultdict(int)
            for held, taken_whole in content[n]["gpus"]:
                if held and not taken_whole:
                    used[_extend([held.get(m, 0) for m in shares], shares, caps)] += 1
            for q, var in options:
                self.cp.add_hint(var, used.get(q, 0))

    def decode(self, solver) -> list:
        """The assignment of a solution: each type's pods in index order; on a node, whole-GPU pods on the
        first GPUs, then sharing pods on the GPUs the solution's ``s`` (or patterns ``z``) gives their share."""
        assignment: list = [None] * len(self.pods)
        nxt = [0] * len(self.types)
        for n, node in enumerate(self.nodes):
            sharing: dict[int, list[int]] = defaultdict(list)
            whole: list[int] = []
            for t in self.on_node[n]:
                k = solver.value(self.c[t, n])
                for p in self.types[t][nxt[t] : nxt[t] + k]:
                    if not self.row[t][2]:
                        assignment[p] = [n, []]
                    elif self.row[t][3] < FULL:
                        sharing[self.row[t][3]].append(p)
                    else:
                        whole.append(p)
                nxt[t] += k
            slots: dict[int, list[int]] = defaultdict(list)  # share -> a GPU per pod it can take
            if n in self.z:
                free = list(range(node[2]))
                g = sum(self.row[self.type_of[p]][2] for p in whole)
                shares = self.shares[n][0]
                for q, var in self.z[n]:
                    for _ in range(solver.value(var)):
                        for j, m in enumerate(shares):
                            slots[m].extend([g] * q[j])
                        g += 1
            elif n in self.per_gpu:
                free = [g for g in range(node[2]) if (n, g) in self.w and solver.value(self.w[n, g])]
                for m in sharing:
                    slots[m] = [g for g in range(node[2]) for _ in range(solver.value(self.s[m, n, g]))]
            else:
                free = list(range(node[2]))
            for m, group in sharing.items():
                for p, g in zip(group, slots[m]):
                    assignment[p] = [n, [g]]
            for p in whole:
                k = self.pods[p][2]
                assignment[p], free = [n, free[:k]], free[k:]
        return assignment


def canonical(model: Model, assignment: list) -> list[dict]:
    """A feasible assignment as per-node content in the model's canonical form (GPUs by load, whole ones first,
    as the nodes modelled GPU by GPU order them): ``{"types": {type: count}, "gpus": [({milli: count}, whole)]}``
    per node."""
    nodes, pods = model.nodes, model.pods
    content = [{"types": defaultdict(int), "gpus": [[defaultdict(int), 0] for _ in range(node[2])]} for node in nodes]
    for p, decision in enumerate(assignment):
        if decision is None:
            continue
        n, gpus = decision[0], decision[1]
        held = content[n]
        held["types"][model.type_of[p]] += 1
        for g in gpus:
            if pods[p][3] < FULL:
                held["gpus"][g][0][pods[p][3]] += 1
            else:
                held["gpus"][g][1] = 1
    for held in content:
        held["gpus"].sort(key=lambda gpu: (-(sum(m * k for m, k in gpu[0].items()) + FULL * gpu[1]), -gpu[1]))
    return content


def _most(node: list, row: list, count: int) -> int:
    """At most how many pods of a type fit on an empty node (a bound, not always reached)."""
    top = count
    for resource in (0, 1):
        if row[resource]:
            top = min(top, node[resource] // row[resource])
    if row[2] and row[3] < FULL:
        top = min(top, node[2] * (FULL // row[3]))
    elif row[2]:
        top = min(top, node[2] // row[2])
    return top


def _patterns(caps: dict[int, int], limit: int = 400) -> list[tuple] | None:
    """Every maximal way to fill one GPU with shares (counts per share, shares in decreasing order, each at most
    its cap); None when there are more than ``limit`` (the node is then modelled GPU by GPU)."""
    shares = sorted(caps, reverse=True)
    found: list[tuple] = []
    steps = [0]

    def fill(j: int, rest: int, counts: list[int]) -> bool:
        steps[0] += 1
        if len(found) > limit or steps[0] > 50 * limit:
            return False
        if j == len(shares):
            if all(k == caps[m] or m > rest for m, k in zip(shares, counts)):
                found.append(tuple(counts))
            return True
        m = shares[j]
        return all(fill(j + 1, rest - k * m, [*counts, k]) for k in range(min(caps[m], rest // m), -1, -1))

    return found if fill(0, FULL, []) else None


def _extend(counts: list[int], shares: list[int], caps: list[int]) -> tuple:
    """The maximal pattern (``_patterns``) that adds shares to ``counts``, largest first."""
    rest = FULL - sum(k * m for k, m in zip(counts, shares))
    for j, m in enumerate(shares):
        more = min(caps[j] - counts[j], rest // m)
        counts[j] += more
        rest -= more * m
    return tuple(counts)


def _pod_key(row: list) -> tuple:
    return (row[0], row[1], row[2], row[3], tuple(sorted(row[4])), row[5])
