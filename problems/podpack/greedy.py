"""The greedy start of CP-SAT's search (``exact.py``): a quick feasible placement of a snapshot, the
lexicographically best (high priority first) of a small portfolio of best-fit passes. Without a start, CP-SAT
found no placement at all within 10 deterministic seconds on 50 nodes; with one, it improves from there.
"""

from __future__ import annotations

import itertools

from problems.podpack.cluster import FULL, PRIORITIES, Cluster

# Ties between equally tight nodes, and per priority (from high) whether pods go in decreasing GPU request:
# no single pass was best on every snapshot, and the whole portfolio costs little next to the solver.
TIES = ("cpu", "balance", "ratio")
ORDERS = ((True, False, False), (True, True, True), (False, False, False))


def greedy(nodes: list, pods: list) -> list:
    """A quick feasible assignment (``exact.Solution.assignment``'s format): the lexicographically best of a few
    greedy passes (``best_fit``), each priority in decreasing or increasing GPU request, with each way of
    breaking ties."""
    best, best_placed = None, None
    for tie, keep_idle, orders in itertools.product(TIES, (False, True), ORDERS):
        assignment = best_fit(nodes, pods, orders, tie, keep_idle)
        placed = [sum(1 for p, a in enumerate(assignment) if a and pods[p][5] == k) for k in range(PRIORITIES)]
        if best is None or placed[::-1] > best_placed[::-1]:
            best, best_placed = assignment, placed
    return best


def best_fit(nodes: list, pods: list, decreasing: tuple[bool, ...], tie: str, keep_idle: bool) -> list:
    """Pods by priority, high first, and within one by GPU request (then CPU and memory), in decreasing order
    where ``decreasing[priority from high]``, else increasing; each where its GPUs fit tightest: a sharing pod
    on the fullest GPU that holds it, a whole-GPU pod on the node with the fewest idle GPUs left, a CPU-only pod
    on a node without GPUs first; with ``keep_idle``, then on the node with the fewest idle GPUs left. Ties go
    to the node with the least CPU left (``tie`` "cpu"), whose shares of CPU and GPU left are closest
    ("balance"), or with the most CPU left per GPU left ("ratio")."""
    state = Cluster(nodes, pods)
    for rank, priority in enumerate(reversed(range(PRIORITIES))):
        group = [p for p in range(len(pods)) if pods[p][5] == priority]
        group.sort(key=lambda p: (pods[p][2] * pods[p][3], pods[p][0], pods[p][1]), reverse=decreasing[rank])
        for p in group:
            cpu, mem, count, milli = pods[p][:4]
            best = None
            for n, node in enumerate(nodes):
                if cpu > state.cpu_free[n] or mem > state.mem_free[n] or count > node[2]:
                    continue
                if not state.model_allowed(p, n):
                    continue
                free = state.gpu_free[n]
                if not count:
                    tight, gpus = 1.0 if node[2] else 0.0, ()
                elif milli < FULL:
                    fits = [(f, g) for g, f in enumerate(free) if f >= milli]
                    if not fits:
                        continue
                    f, g = min(fits)
                    tight, gpus = (f - milli) / FULL, (g,)
                else:
                    idle = [g for g, f in enumerate(free) if f == FULL]
                    if len(idle) < count:
                        continue
                    tight, gpus = (len(idle) - count) / node[2], tuple(idle[:count])
                cpu_left, gpu_left = state.cpu_free[n] - cpu, sum(free) - count * milli
                if tie == "cpu":
                    second = cpu_left / node[0]
                elif tie == "balance":
                    second = abs(cpu_left / node[0] - gpu_left / (node[2] * FULL)) if node[2] else 0.0
                else:
                    second = -cpu_left / (gpu_left + 1)
                key = (tight, second)
                if keep_idle:  # then the node with the fewest idle GPUs left
                    key = (tight, sum(f == FULL for f in free) - sum(free[g] == FULL for g in gpus), second)
                if best is None or key < best[0]:
                    best = (key, n, gpus)
            if best is not None:
                state.place(p, best[1], best[2])
    return assignment_of(state, len(pods))


def assignment_of(state: Cluster, count: int) -> list:
    """The cluster's placement as an assignment: per pod, None (pending) or ``[node, [gpu, ...]]``."""
    result: list = [None] * count
    for n, hosted in enumerate(state.hosted):
        for p, gpus in hosted.items():
            result[p] = [n, list(gpus)]
    return result
