"""A GPU-sharing Kubernetes cluster's state and the rules of placing and preempting pods. Standard library only:
both halves of the runner import it (``drive`` holds the true state, ``play`` a mirror) and the verifier replays
every log with it.

Nodes have milli-CPU, MiB of memory and GPUs of one model; each GPU is 1000 milli-GPU. A pod asks for CPU and
memory, and either no GPU, a share of one GPU (``milli`` < 1000, ``num_gpu`` = 1, several such pods may share a
GPU), or ``num_gpu`` whole GPUs (``milli`` = 1000), each entirely free; a non-empty ``models`` limits the GPU
models it may run on. Priorities are 0 (low) to 2 (high) (``trace.PRIORITY``).

Preemption follows the Kubernetes scheduler's default plugin: only pods of strictly lower priority than the
pending pod are candidates on a node; if the pod fits once all of them are gone, they are given back ("reprieved")
one at a time, highest priority first and, within a priority, the earliest placed first, each kept whenever the
pod still fits; the ones that cannot be given back are the victims. They are evicted (they become pending and are
not retried) and the pod takes their room at once. Which node to preempt on is the policy's choice.
"""

from __future__ import annotations

from bisect import bisect_left, insort

FULL = 1000  # milli-GPU in one GPU
PRIORITIES = 3
SHAPES_KEPT = 128  # pod shapes whose preemption options are kept (``preemptions``; the trace has 91)
_UNKNOWN = object()


class Infeasible(Exception):
    """A decision the cluster cannot carry out; the message names the pod, the node and what is short."""


class Cluster:
    """Nodes, the pods placed on them and their free resources.

    ``nodes`` are ``[cpu, mem, gpus, model]`` rows and ``pods`` ``[cpu, mem, num_gpu, milli, models, priority]``
    rows (the instance's data). Pods are referred to by their index in ``pods``.
    """

    def __init__(self, nodes: list, pods: list):
        self.nodes = nodes
        self.pods = pods
        self.cpu_free = [int(n[0]) for n in nodes]
        self.mem_free = [int(n[1]) for n in nodes]
        self.gpu_free = [[FULL] * int(n[2]) for n in nodes]
        self.hosted: list[dict[int, tuple[int, ...]]] = [{} for _ in nodes]  # pod -> its GPUs, in placement order
        self.where: dict[int, int] = {}  # placed pod -> node
        self.evicted: list[int] = []
        # For the last few pod shapes, what preemption would do on each node; a node's entries are forgotten when
        # it changes, so a run of pods that fit nowhere costs a lookup per node instead of Kubernetes' reprieve.
        self._preemption: dict[tuple, list] = {}  # pod shape -> per node: (gpus, victims), None or _UNKNOWN
        # Nodes in identical states are interchangeable; the mirror offers one of each (``classes``).
        self.signature = [self._signature(n) for n in range(len(nodes))]
        self.classes: dict[tuple, list[int]] = {}
        for n, sig in enumerate(self.signature):
            self.classes.setdefault(sig, []).append(n)

    # -- what fits ------------------------------------------------------------------------------------------

    def per_gpu(self, pod: int) -> int:
        """The milli-GPU the pod takes on each of its GPUs."""
        return int(self.pods[pod][3])

    def model_allowed(self, pod: int, node: int) -> bool:
        row = self.pods[pod]
        return not row[2] or not row[4] or self.nodes[node][3] in row[4]

    def pick_gpus(self, pod: int, free: list[int]) -> tuple[int, ...] | None:
        """GPUs (indices into ``free``) the pod could take: for a sharing pod the fullest GPU it fits on, for
        whole GPUs the first free ones; None when there are none."""
        count, milli = int(self.pods[pod][2]), self.per_gpu(pod)
        if count == 0:
            return ()
        if milli < FULL:
            fitting = [(f, g) for g, f in enumerate(free) if f >= milli]
            return (min(fitting)[1],) if fitting else None
        whole = _idle(free)
        return tuple(whole[:count]) if len(whole) >= count else None

    def fit_error(self, pod: int, node: int, gpus: tuple[int, ...]) -> str:
        """Why ``pod`` cannot go on ``node`` with ``gpus`` now; empty when it can."""
        cpu, mem, count, _, models, _ = self.pods[pod]
        if not self.model_allowed(pod, node):
            return f"node {node} has {self.nodes[node][3] or 'no'} GPUs, the pod runs only on {'/'.join(models)}"
        if cpu > self.cpu_free[node]:
            return f"node {node} has {self.cpu_free[node]} milli-CPU free, the pod needs {cpu}"
        if mem > self.mem_free[node]:
            return f"node {node} has {self.mem_free[node]} MiB free, the pod needs {mem}"
        if count > self.nodes[node][2]:
            return f"node {node} has {self.nodes[node][2]} GPUs, the pod needs {count}"
        if len(gpus) != count:
            return f"the pod needs {count} GPU(s), the decision names {len(gpus)}"
        free = self.gpu_free[node]
        if len(set(gpus)) != len(gpus) or any(not 0 <= g < len(free) for g in gpus):
            return f"node {node} has GPUs 0-{len(free) - 1}, the decision names {list(gpus)}"
        milli = self.per_gpu(pod)
        for g in gpus:
            if free[g] < milli:
                return f"GPU {g} of node {node} has {free[g]} milli-GPU free, the pod needs {milli}"
        return ""

    # -- changes --------------------------------------------------------------------------------------------

    def place(self, pod: int, node: int, gpus: tuple[int, ...]) -> None:
        cpu, mem = self.pods[pod][0], self.pods[pod][1]
        self.cpu_free[node] -= cpu
        self.mem_free[node] -= mem
        milli = self.per_gpu(pod)
        for g in gpus:
            self.gpu_free[node][g] -= milli
        self.hosted[node][pod] = gpus
        self.where[pod] = node
        self._moved(node)

    def evict(self, pod: int) -> None:
        node = self.where.pop(pod)
        gpus = self.hosted[node].pop(pod)
        self.cpu_free[node] += self.pods[pod][0]
        self.mem_free[node] += self.pods[pod][1]
        milli = self.per_gpu(pod)
        for g in gpus:
            self.gpu_free[node][g] += milli
        self.evicted.append(pod)
        self._moved(node)

    def victims(self, pod: int, node: int) -> list[int] | None:
        """The pods Kubernetes' preemption would evict on ``node`` to make room for ``pod`` (module docstring);
        None when evicting every lower-priority pod there is not enough, or when the pod fits already."""
        cpu, mem, _, _, _, priority = self.pods[pod]
        if not self.model_allowed(pod, node):
            return None
        lower = [p for p in self.hosted[node] if self.pods[p][5] < priority]
        if not lower:
            return None
        free = [self.cpu_free[node], self.mem_free[node], list(self.gpu_free[node])]
        for p in lower:
            self._give(free, node, p, +1)
        if not self._fits_in(pod, free):
            return None
        victims = []
        for p in sorted(lower, key=lambda p: -self.pods[p][5]):  # stable: earliest placed first within a priority
            self._give(free, node, p, -1)
            if not self._fits_in(pod, free):
                self._give(free, node, p, +1)
                victims.append(p)
        return victims or None

    def apply(self, pod: int, decision: object) -> list[int]:
        """Carry out an untrusted decision for ``pod`` (None: leave it pending; ``[node, gpus, preempt]``); the
        pods it evicted. Raises Infeasible, naming what is wrong, for anything else."""
        if decision is None:
            return []
        if type(decision) is not list or len(decision) != 3:
            raise Infeasible(f"pod {pod}: a decision is null or [node, [gpu, ...], preempt], not {_show(decision)}")
        node, gpus, preempt = decision
        if type(node) is not int or not 0 <= node < len(self.nodes):
            raise Infeasible(f"pod {pod}: no node {_show(node)} (the cluster has nodes 0-{len(self.nodes) - 1})")
        if type(gpus) is not list or any(type(g) is not int for g in gpus) or type(preempt) is not bool:
            raise Infeasible(f"pod {pod}: a decision's GPUs are a list of ints and preempt a bool, not {decision!r}")
        victims = []
        if preempt:
            if self.options(pod):
                raise Infeasible(f"pod {pod}: preemption is only for a pod that fits nowhere, and this one fits")
            victims = self.victims(pod, node)
            if victims is None:
                raise Infeasible(f"pod {pod}: preemption on node {node} would not make room (or is not needed)")
        before = self._node_state(node) if victims else None
        for p in victims:
            self.evict(p)
        error = self.fit_error(pod, node, tuple(gpus))
        if error:
            if victims:  # the cluster stays as it was: a refused decision changes nothing
                self._restore(node, before, victims)
            raise Infeasible(f"pod {pod}: {error}")
        self.place(pod, node, tuple(gpus))
        return victims

    # -- the mirror's view ----------------------------------------------------------------------------------

    def options(self, pod: int) -> list[tuple[int, tuple[int, ...]]]:
        """Every distinct way to place ``pod`` now, as (node, gpus): one node of each class of identical nodes
        (the lowest-numbered), and for a sharing pod one GPU of each distinct free share that fits."""
        cpu, mem, count, milli, models, _ = self.pods[pod]
        found = []
        for (_, _, model, room, levels), members in self.classes.items():  # ``_signature``; levels are sorted
            if cpu > room[0] or mem > room[1]:
                continue
            node = members[0]
            if count == 0:
                found.append((node, ()))
                continue
            if len(levels) < count or (models and model not in models):
                continue
            free = self.gpu_free[node]
            if milli < FULL:
                if levels[-1] >= milli:
                    shares = {}
                    for g, f in enumerate(free):
                        if f >= milli and f not in shares:
                            shares[f] = g
                    found.extend((node, (g,)) for g in shares.values())
            elif levels[-count] == FULL:
                found.append((node, (free.index(FULL),) if count == 1 else tuple(_idle(free)[:count])))
        found.sort()
        return found

    def preemptions(self, pod: int) -> list[tuple[int, tuple[int, ...], list[int]]]:
        """Every node where preemption would make room for ``pod``, as (node, gpus after eviction, victims)."""
        if self.pods[pod][5] == 0:
            return []
        shape = _shape(self.pods[pod])
        known = self._preemption.pop(shape, None)
        if known is None:
            known = [_UNKNOWN] * len(self.nodes)
            if len(self._preemption) >= SHAPES_KEPT:  # generated pods rarely repeat a shape: memory stays bounded
                del self._preemption[next(iter(self._preemption))]
        self._preemption[shape] = known  # the most recent last
        found = []
        for node, entry in enumerate(known):
            if entry is _UNKNOWN:
                entry = known[node] = self._preemption_on(pod, node)
            if entry is not None:
                found.append((node, *entry))
        return found

    def _preemption_on(self, pod: int, node: int) -> tuple[tuple[int, ...], list[int]] | None:
        """(gpus after eviction, victims) of preempting for ``pod`` on ``node``; None where it would not make room."""
        cpu, mem, count, milli, _, priority = self.pods[pod]
        hosted = self.hosted[node]
        if not hosted or len(self.gpu_free[node]) < count:
            return None
        lower = [p for p in hosted if self.pods[p][5] < priority]
        if not lower:
            return None
        if self.cpu_free[node] + sum(self.pods[p][0] for p in lower) < cpu:
            return None
        if self.mem_free[node] + sum(self.pods[p][1] for p in lower) < mem:
            return None
        freed = sum(self.per_gpu(p) * len(hosted[p]) for p in lower)
        if count and (freed + sum(self.gpu_free[node]) < count * milli):
            return None
        victims = self.victims(pod, node)
        if victims is None:
            return None
        free = list(self.gpu_free[node])
        for p in victims:
            for g in hosted[p]:
                free[g] += self.per_gpu(p)
        gpus = self.pick_gpus(pod, free)
        return None if gpus is None else (gpus, victims)

    # -- internals ------------------------------------------------------------------------------------------

    def _signature(self, node: int) -> tuple:
        row = self.nodes[node]
        return (row[0], row[1], row[3], (self.cpu_free[node], self.mem_free[node]), tuple(sorted(self.gpu_free[node])))

    def _moved(self, node: int) -> None:
        old, new = self.signature[node], self._signature(node)
        members = self.classes[old]
        del members[bisect_left(members, node)]
        if not members:
            del self.classes[old]
        insort(self.classes.setdefault(new, []), node)
        self.signature[node] = new
        for known in self._preemption.values():
            known[node] = _UNKNOWN

    def _node_state(self, node: int) -> tuple:
        return self.cpu_free[node], self.mem_free[node], list(self.gpu_free[node]), dict(self.hosted[node])

    def _restore(self, node: int, state: tuple, evicted: list[int]) -> None:
        self.cpu_free[node], self.mem_free[node], self.gpu_free[node][:], self.hosted[node] = state
        for p in evicted:
            self.where[p] = node
        del self.evicted[len(self.evicted) - len(evicted) :]
        self._moved(node)

    def _give(self, free: list, node: int, pod: int, sign: int) -> None:
        """Add (+1) or take back (-1) ``pod``'s resources to a scratch copy ``free`` of ``node``'s free ones."""
        free[0] += sign * self.pods[pod][0]
        free[1] += sign * self.pods[pod][1]
        milli = self.per_gpu(pod)
        for g in self.hosted[node][pod]:
            free[2][g] += sign * milli

    def _fits_in(self, pod: int, free: list) -> bool:
        row = self.pods[pod]
        return row[0] <= free[0] and row[1] <= free[1] and self.pick_gpus(pod, free[2]) is not None


def _idle(free: list[int]) -> list[int]:
    return [g for g, f in enumerate(free) if f == FULL]


def _shape(row: list) -> tuple:
    """What of a pod's row decides where it fits and what it may preempt."""
    return (row[0], row[1], row[2], row[3], tuple(row[4]), row[5])


def _show(value: object) -> str:
    return repr(value)[:60]
