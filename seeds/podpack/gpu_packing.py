"""GPU packing (the FGD paper's "GpuPacking" baseline; simulator plugin GpuPackingScore,
pkg/simulator/plugin/gpu_packing_score.go in hkust-adsl/kubernetes-scheduler-simulator).

Three tiers, best first, as in the simulator: (1) a GPU pod that fits on partly used GPUs takes them, the
fuller the better (100 minus a tenth of the free percentage of the GPU taken); (2) else idle GPUs on a node
where some GPU is in use, the fewer idle GPUs it has to break the better (50 minus that number); (3) else an
idle node (every GPU idle; pods without GPU do not make a node active), the fewer GPUs it has the better (33
minus them). The scores are exact (the simulator truncates them to integers); ties go to the first option.
A pod asking for no GPU scores the same on every node in the simulator, whose scheduler then picks one at
random: here a deterministic hash of the pod and the node picks a feasible node uniformly at random (options
of a node class count for all its nodes). GPU packing does not preempt: preemption options score None and a
pod that fits nowhere stays pending.
"""

import math

FULL = 1000  # milli-GPU in one GPU
_MASK = (1 << 64) - 1


def uniform(a, b):
    """A number in (0, 1) that looks random, the same for the same (a, b) (splitmix64 of the pair)."""
    x = (a * 0x9E3779B97F4A7C15 + b * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return ((x >> 11) + 0.5) / (1 << 53)


def random_node(pod, node):
    """A key whose largest value over the options falls on each feasible node with equal chance: options stand
    for classes of ``node.identical`` nodes, so the key is log(u) / class size (weighted reservoir sampling)."""
    return math.log(uniform(pod.index, node.index)) / node.identical


def score(pod, node, gpus, victims, cluster):
    if victims:
        return None
    if not pod.num_gpu:
        return random_node(pod, node)
    return packing(pod, node, gpus)


# EVOLVE-BLOCK-START
def packing(pod, node, gpus):
    """Shared GPUs first (fuller first), then idle GPUs of an active node (fewer first), then idle nodes."""
    free = node.gpu_free
    idle = free.count(FULL)
    if idle == len(free):  # an idle node: fewer GPUs first
        return 100.0 / 3.0 - idle
    taken = [free[g] for g in gpus]
    breaks = taken.count(FULL)
    if breaks:  # idle GPUs of an active node: the fewer broken the better
        return max(50.0 - breaks, 100.0 / 3.0)
    return max(100.0 - sum(100.0 * f / FULL for f in taken) / 10.0, 50.0)


# EVOLVE-BLOCK-END
