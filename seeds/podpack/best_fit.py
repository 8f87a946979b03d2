"""Best-fit (the FGD paper's "BestFit" baseline: Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing
Workloads with Fragmentation Gradient Descent", USENIX ATC'23; simulator plugin BestFitScore,
pkg/simulator/plugin/best_fit_score.go in hkust-adsl/kubernetes-scheduler-simulator).

A node scores by the resources it would have left once the pod is placed, weighted half CPU and half GPU, each
normalised by the largest node of the trace (128 cores, 8 GPUs): the less left, the better, so pods go to the
fullest node that fits. Memory is only a fit constraint here, as in the simulator. The GPU on the node is the
simulator's default choice ("best" in its Open-Gpu-Share plugin): a sharing pod takes the fullest GPU it fits
on, so the other GPU options of a node are excluded. The simulator truncates scores to integers and picks at
random among equal ones; here the score is exact and ties go to the first option (the lowest-numbered node).
Best-fit does not preempt: preemption options score None and a pod that fits nowhere stays pending.
"""

FULL = 1000  # milli-GPU in one GPU
MAX_CPU = 128000  # milli-CPU of the largest node (the simulator's MaxSpecCpu)
MAX_GPU = 8000  # milli-GPU of the largest node (MaxSpecGpu)


def fullest_gpu(pod, node, gpus):
    """Whether ``gpus`` is the default GPU choice: for a sharing pod the fullest GPU it fits on (options offer
    one GPU per distinct free share, so exactly one per node passes); any option for other pods."""
    if pod.num_gpu != 1 or pod.milli >= FULL:
        return True
    level = node.gpu_free[gpus[0]]
    return not any(pod.milli <= free < level for free in node.gpu_free)


def score(pod, node, gpus, victims, cluster):
    if victims or not fullest_gpu(pod, node, gpus):
        return None
    return best_fit(pod, node)


# EVOLVE-BLOCK-START
def best_fit(pod, node):
    """100 x (1 - weighted resources left after placement), CPU and GPU weighted 0.5 each: higher is fuller."""
    cpu_left = (node.cpu_free - pod.cpu) / MAX_CPU
    gpu_left = (sum(node.gpu_free) - pod.num_gpu * pod.milli) / MAX_GPU
    return 100.0 * (1.0 - 0.5 * cpu_left - 0.5 * gpu_left)


# EVOLVE-BLOCK-END
