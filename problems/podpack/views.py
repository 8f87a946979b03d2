"""What a policy sees, in the candidate's process: read-only views of the mirror of the cluster. Standard library
only (the runner imports it).

The mirror (a ``Cluster``) learns each pod when it arrives and applies the policy's own decisions, so it holds
the present and the past, never a pod still to come.
"""

from __future__ import annotations

import math

from problems.podpack.cluster import FULL, Cluster


class Pod:
    """A pod waiting to be placed (or one already placed, as a preemption victim)."""

    __slots__ = ("index", "cpu", "mem", "num_gpu", "milli", "gpu", "models", "priority")

    def __init__(self, index: int, row: list):
        self.index = index  # arrival number, from 0
        self.cpu, self.mem, self.num_gpu, self.milli = row[0], row[1], row[2], row[3]  # milli is per GPU
        self.gpu = self.num_gpu * self.milli / FULL  # GPUs asked for in all: 0, a share (0.46) or whole (1, 2, 8)
        self.models = tuple(row[4])  # GPU models it may run on; empty: any
        self.priority = row[5]  # 0 low, 1 mid, 2 high

    def __repr__(self) -> str:
        return f"Pod({self.index}, cpu={self.cpu}, mem={self.mem}, gpu={self.gpu:g}, priority={self.priority})"


class Node:
    """One node, read live from the mirror: capacities and what is free now."""

    __slots__ = ("index", "cpu", "mem", "gpus", "model", "_cluster")

    def __init__(self, index: int, row: list, cluster: Cluster):
        self.index = index
        self.cpu, self.mem, self.gpus, self.model = row[0], row[1], row[2], row[3]  # model "" without GPUs
        self._cluster = cluster

    @property
    def cpu_free(self) -> int:
        return self._cluster.cpu_free[self.index]

    @property
    def mem_free(self) -> int:
        return self._cluster.mem_free[self.index]

    @property
    def gpu_free(self) -> list[int]:
        """Free milli-GPU of each GPU (1000 = an idle GPU). Read it, never change it."""
        return self._cluster.gpu_free[self.index]

    @property
    def pods(self) -> int:
        return len(self._cluster.hosted[self.index])

    @property
    def identical(self) -> int:
        """How many nodes (this one included) have the same capacities and the same free resources now."""
        return len(self._cluster.classes[self._cluster.signature[self.index]])

    def __repr__(self) -> str:
        return f"Node({self.index}, {self.model or 'CPU'}, cpu_free={self.cpu_free}, gpu_free={self.gpu_free})"


class ClusterView:
    """The whole cluster as a scheduler sees it. ``memory`` is the policy's own dict, kept within one instance."""

    def __init__(self, nodes: list):
        self.state = Cluster(nodes, [])
        self.nodes = [Node(i, row, self.state) for i, row in enumerate(nodes)]
        self.gpu_total = FULL * sum(row[2] for row in nodes)  # milli-GPU
        self.arrived: list[Pod] = []  # every pod so far, the one being placed last
        self.placed = [0] * 3  # pods placed now, per priority
        self.memory: dict = {}

    @property
    def gpu_allocated(self) -> int:
        """Milli-GPU taken by the pods placed now."""
        return self.gpu_total - sum(sum(free) for free in self.state.gpu_free)

    def arrive(self, row: list) -> Pod:
        self.state.pods.append(row)
        pod = Pod(len(self.arrived), row)
        self.arrived.append(pod)
        return pod

    def decide(self, pod: Pod, score) -> list | None:
        """The best-scored placement of ``pod`` as a decision; preemptions are offered only when it fits nowhere."""
        best, best_value = None, -math.inf
        options = self.state.options(pod.index)
        nodes = self.nodes
        for node, gpus in options:
            value = score(pod, nodes[node], gpus, (), self)
            if type(value) not in _PLAIN or value != value:  # the common case, a plain number, skips the check
                value = _number(value)
            if value is not None and value > best_value:
                best, best_value = [node, list(gpus), False], value
        if not options:
            for node, gpus, victims in self.state.preemptions(pod.index):
                shown = tuple(self.arrived[p] for p in victims)
                value = _number(score(pod, self.nodes[node], gpus, shown, self))
                if value is not None and value > best_value:
                    best, best_value = [node, list(gpus), True], value
        return best

    def record(self, pod: Pod, decision: list | None) -> None:
        """Apply the decision to the mirror, as the simulation does to the cluster."""
        if decision is None:
            return
        for victim in self.state.apply(pod.index, decision):
            self.placed[self.state.pods[victim][5]] -= 1
        self.placed[pod.priority] += 1


_PLAIN = (float, int)


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TypeError(f"score must return a number or None, not {repr(value)[:60]}")
    return value
