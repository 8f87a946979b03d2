"""The Kubernetes default scheduler (kube-scheduler's default profile: the NodeResourcesFit plugin with its
LeastAllocated strategy and the NodeResourcesBalancedAllocation plugin, weight 1 each; preemption by the
DefaultPreemption plugin), with GPUs as an extended resource, as the FGD paper's clusters run it.

LeastAllocated: the mean over CPU, memory and GPU of the fraction of the node left free once the pod is placed,
x 100. BalancedAllocation: 100 x (1 - the standard deviation of the fractions requested). The two are added.
As in kube-scheduler, the GPU enters both only for a pod that asks for GPUs (an extended resource the pod does
not request is bypassed), so pods spread over the emptiest nodes. The GPU on the node is the one the GPU-share
device plugin picks (the simulator's Open-Gpu-Share "best"): a sharing pod takes the fullest GPU it fits on.
kube-scheduler truncates scores to integers and picks at random among equal ones; here the score is exact and
ties go to the first option.

Preemption (offered only when the pod fits nowhere, so preemption options compete only with each other): the
default plugin's choice of node, in its order: the lowest priority of the highest-priority victim, then the
smallest sum of victim priorities, which kube-scheduler computes with 2^31 added to each priority, so fewer
victims come first and the plain sum breaks ties, then the node whose earliest-started highest-priority victim
started latest (pods start on arrival here, so the latest arrival), then the first option. The victims
themselves are the cluster's (Kubernetes' reprieve rule).
"""

FULL = 1000  # milli-GPU in one GPU


def fullest_gpu(pod, node, gpus):
    """Whether ``gpus`` is the default GPU choice: for a sharing pod the fullest GPU it fits on."""
    if pod.num_gpu != 1 or pod.milli >= FULL:
        return True
    level = node.gpu_free[gpus[0]]
    return not any(pod.milli <= free < level for free in node.gpu_free)


def score(pod, node, gpus, victims, cluster):
    if victims:
        return preemption(victims)
    if not fullest_gpu(pod, node, gpus):
        return None
    return spread(pod, node)


# EVOLVE-BLOCK-START
def spread(pod, node):
    """LeastAllocated + BalancedAllocation, each 0-100, over CPU, memory and (for a GPU pod) GPU."""
    cpu = 1.0 - (node.cpu_free - pod.cpu) / node.cpu  # shares requested once the pod is placed
    mem = 1.0 - (node.mem_free - pod.mem) / node.mem
    if not pod.num_gpu:  # mean (cpu + mem) / 2, standard deviation |cpu - mem| / 2
        return 200.0 - 50.0 * (cpu + mem) - 50.0 * abs(cpu - mem)
    gpu = 1.0 - (sum(node.gpu_free) - pod.num_gpu * pod.milli) / (FULL * node.gpus)
    mean = (cpu + mem + gpu) / 3.0
    std = (((cpu - mean) ** 2 + (mem - mean) ** 2 + (gpu - mean) ** 2) / 3.0) ** 0.5
    return 200.0 - 100.0 * mean - 100.0 * std


def preemption(victims):
    """Kubernetes' node order for preemption as one number: higher is preferred."""
    top = max(v.priority for v in victims)
    earliest_top = min(v.index for v in victims if v.priority == top)
    key = ((top * 4096 + len(victims)) * 8192 + sum(v.priority for v in victims)) * (1 << 32)
    return earliest_top - key


# EVOLVE-BLOCK-END
