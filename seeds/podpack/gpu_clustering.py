"""GPU clustering (the FGD paper's "GpuClustering" baseline; simulator plugin GpuClusteringScore,
pkg/simulator/plugin/gpu_clustering_score.go, with the pods' GPU affinity tags of
pkg/type/open-gpu-share/utils/pod.go, in hkust-adsl/kubernetes-scheduler-simulator).

Pods of the same GPU request are packed together. A GPU pod's tag is its request: "share" (a share of one GPU)
or the number of whole GPUs; a node's tags are those of the GPU pods it hosts. Tiers, best first, as in the
simulator: a node hosting only the pod's tag (75-100), a node hosting it among others (50-75), a node hosting
no GPU pod (25-50), a node hosting only other tags (0-25); within a tier, 25 x the share of 8 GPUs (the largest
node) that is not free, so fuller nodes first. The scores are exact (the simulator truncates them to integers);
ties go to the first option. The GPU on the node is the simulator's default choice ("best"): a sharing pod
takes the fullest GPU it fits on. A pod asking for no GPU scores the same on every node in the simulator, whose
scheduler then picks one at random: here a deterministic hash of the pod and the node picks a feasible node
uniformly at random. GPU clustering does not preempt: preemption options score None and a pod that fits
nowhere stays pending.

The tags hosted by each node are kept in ``cluster.memory``: each call remembers the best option so far of the
pod being placed (the runner picks the first best one, as this does), and the first call for the next pod adds
the previous pod's tag to the node it went to. No pod leaves and this policy never preempts, so the tags stay
exact.
"""

import math

FULL = 1000  # milli-GPU in one GPU
MAX_GPU = 8000  # milli-GPU of the largest node (the simulator's MaxSpecGpu)
_MASK = (1 << 64) - 1


def uniform(a, b):
    """A number in (0, 1) that looks random, the same for the same (a, b) (splitmix64 of the pair)."""
    x = (a * 0x9E3779B97F4A7C15 + b * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return ((x >> 11) + 0.5) / (1 << 53)


def random_node(pod, node):
    """A key whose largest value over the options falls on each feasible node with equal chance (options stand
    for classes of ``node.identical`` nodes: weighted reservoir sampling)."""
    return math.log(uniform(pod.index, node.index)) / node.identical


def fullest_gpu(pod, node, gpus):
    """Whether ``gpus`` is the default GPU choice: for a sharing pod the fullest GPU it fits on."""
    if pod.num_gpu != 1 or pod.milli >= FULL:
        return True
    level = node.gpu_free[gpus[0]]
    return not any(pod.milli <= free < level for free in node.gpu_free)


def tag(pod):
    """The pod's GPU affinity: None without GPU, "share" for a share of one GPU, else its number of GPUs."""
    if not pod.num_gpu:
        return None
    return "share" if pod.milli < FULL else pod.num_gpu


def node_tags(pod, cluster):
    """Each node's tag counts ({tag: pods}), brought up to date with the previous pod's placement."""
    memory = cluster.memory
    if memory.get("pod") != pod.index:
        best = memory.get("best")
        if best is not None and best[2] is not None:
            counts = memory.setdefault("tags", {}).setdefault(best[1], {})
            counts[best[2]] = counts.get(best[2], 0) + 1
        memory["pod"], memory["best"] = pod.index, None
    return memory.setdefault("tags", {})


def score(pod, node, gpus, victims, cluster):
    if victims:
        return None
    tags = node_tags(pod, cluster)
    if not fullest_gpu(pod, node, gpus):
        return None
    own = tag(pod)
    value = random_node(pod, node) if own is None else clustering(own, tags.get(node.index, {}), node)
    best = cluster.memory["best"]
    if best is None or value > best[0]:
        cluster.memory["best"] = (value, node.index, own)
    return value


# EVOLVE-BLOCK-START
def clustering(own, hosted, node):
    """Tier by the GPU tags ``hosted`` on the node ({tag: pods}), then by how little GPU the node has free."""
    fullness = 25.0 * (MAX_GPU - sum(node.gpu_free)) / MAX_GPU
    if own in hosted:
        return fullness + (75.0 if len(hosted) == 1 else 50.0)
    return fullness + (25.0 if not hosted else 0.0)


# EVOLVE-BLOCK-END
