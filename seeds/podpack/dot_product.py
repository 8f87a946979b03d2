"""Dot-product (the FGD paper's "DotProd" baseline, after Tetris: Grandl et al., "Multi-Resource Packing for
Cluster Schedulers", SIGCOMM 2014; simulator plugin DotProductScore, pkg/simulator/plugin/dot_product_score.go,
with pkg/type/resource.go and pkg/utils/utils.go, in hkust-adsl/kubernetes-scheduler-simulator).

The pod's demand [milli-CPU, milli-GPU] and the node's free resources are normalised by the largest node of the
trace (128 cores, 8 GPUs), and the option scores 1 - (demand . free) / 2, as in the simulator: the smaller the
dot product, the better, so pods lean towards nodes with less left of what they ask for (packing; Tetris
itself maximised the product). The free GPU side follows the simulator's defaults (GPU dimension "share",
normalisation "max"): on a partly used GPU it is that GPU's free share, on idle GPUs the idle GPUs of the node
together; the pod takes the GPU of the best-scored option (the simulator lets the dot product choose the GPU).
Memory is only a fit constraint here, as in the simulator. Scores are exact (the simulator truncates them to
integers and picks at random among equal ones); ties go to the first option. Dot-product does not preempt:
preemption options score None and a pod that fits nowhere stays pending.
"""

FULL = 1000  # milli-GPU in one GPU
MAX_CPU = 128000  # milli-CPU of the largest node (the simulator's MaxSpecCpu)
MAX_GPU = 8000  # milli-GPU of the largest node (MaxSpecGpu)


def score(pod, node, gpus, victims, cluster):
    if victims:
        return None
    return dot_product(pod, node, gpus)


# EVOLVE-BLOCK-START
def dot_product(pod, node, gpus):
    """1 - (normalised demand . normalised free resources) / 2: higher for nodes with less left."""
    free = node.gpu_free
    gpu_free = free[gpus[0]] if gpus else FULL
    if gpu_free == FULL:  # idle GPUs (or none asked for): the node's idle GPUs together
        gpu_free = FULL * free.count(FULL)
    demand_cpu, demand_gpu = pod.cpu / MAX_CPU, pod.num_gpu * pod.milli / MAX_GPU
    product = demand_cpu * node.cpu_free / MAX_CPU + demand_gpu * gpu_free / MAX_GPU
    return 1.0 - product / 2.0


# EVOLVE-BLOCK-END
