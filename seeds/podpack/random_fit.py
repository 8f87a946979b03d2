"""Random-fit (the FGD paper's "Random" baseline; simulator plugin RandomScore,
pkg/simulator/plugin/random_score.go in hkust-adsl/kubernetes-scheduler-simulator).

The simulator draws one of the nodes that pass the filters uniformly at random and gives it the top score.
Here the draw is a deterministic hash of the pod's and the node's index (splitmix64, no state kept between
calls), turned into a key whose largest value over the options falls on each feasible node with equal chance:
an option stands for a class of ``node.identical`` nodes in the same state, so its key is log(u) / class size
(weighted reservoir sampling). The GPU on the node is the simulator's default choice ("best"): a sharing pod
takes the fullest GPU it fits on. Random-fit does not preempt: preemption options score None and a pod that
fits nowhere stays pending.
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


def fullest_gpu(pod, node, gpus):
    """Whether ``gpus`` is the default GPU choice: for a sharing pod the fullest GPU it fits on."""
    if pod.num_gpu != 1 or pod.milli >= FULL:
        return True
    level = node.gpu_free[gpus[0]]
    return not any(pod.milli <= free < level for free in node.gpu_free)


def score(pod, node, gpus, victims, cluster):
    if victims or not fullest_gpu(pod, node, gpus):
        return None
    return random_key(pod, node)


# EVOLVE-BLOCK-START
def random_key(pod, node):
    """log(u) / class size: the largest over the options is a uniformly random feasible node."""
    return math.log(uniform(pod.index, node.index)) / node.identical


# EVOLVE-BLOCK-END
