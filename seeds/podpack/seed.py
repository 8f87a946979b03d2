"""Initial program for evolving a pod placement policy (the `podpack` problem): a weighted best-fit.

An option scores by what the node would have left once the pod is placed: free GPU and free CPU, each as a
share of the largest node of the trace (8 GPUs, 128 cores), weighted; the less left, the better, so pods pack
onto the fullest nodes (the FGD paper's BestFit baseline with tunable weights). Pods without GPU pay a
penalty on GPU nodes, whose CPU the GPU pods need. Ties go to the first option. When the pod fits nowhere,
it preempts (preemption options compete only with each other): the fewer and the lower-priority the victims,
the better. Room for evolution: the weights, fragmentation of partly used GPUs, the workload seen so far
(``cluster.arrived``), memory, when preempting is worth it.
"""

FULL = 1000  # milli-GPU in one GPU
MAX_CPU = 128000  # milli-CPU of the largest node
MAX_GPU = 8000  # milli-GPU of the largest node


# EVOLVE-BLOCK-START
GPU_WEIGHT = 1.0  # weight of the GPU share left on the node
CPU_WEIGHT = 0.5  # weight of the CPU share left on the node
CPU_POD_ON_GPU_NODE = 0.2  # penalty for a pod without GPU on a node with GPUs


def score(pod, node, gpus, victims, cluster):
    """Higher is better; None never chooses the option."""
    if victims:
        return -10.0 * max(v.priority for v in victims) - len(victims)
    gpu_left = (sum(node.gpu_free) - pod.num_gpu * pod.milli) / MAX_GPU
    cpu_left = (node.cpu_free - pod.cpu) / MAX_CPU
    value = -(GPU_WEIGHT * gpu_left + CPU_WEIGHT * cpu_left)
    if not pod.num_gpu and node.gpus:
        value -= CPU_POD_ON_GPU_NODE
    return value


# EVOLVE-BLOCK-END
