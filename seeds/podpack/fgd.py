"""Fragmentation Gradient Descent, FGD (Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing Workloads
with Fragmentation Gradient Descent", USENIX ATC'23; simulator plugin FGDScore,
pkg/simulator/plugin/fgd_score.go, with the fragment measure and the typical pods of pkg/utils/frag.go, in
hkust-adsl/kubernetes-scheduler-simulator).

A node's fragmentation, measured against a target workload (pod types with their shares), is the expected
amount of its free GPU that a pod drawn from the workload could not use: for each type, all the node's free
milli-GPU when the type does not fit there (too little CPU, too few GPUs with room for its share, a GPU model
it may not run on, or no GPU asked for at all), else only the free milli-GPU of the GPUs too full for its
share. FGD places the pod where the node's fragmentation grows least, GPU included (the simulator lets FGD
choose the GPU): the score is the fragmentation the option removes, in milli-GPU (the simulator's score is a
sigmoid of it, truncated to an integer, with random picks among equal scores; here it is exact and ties go to
the first option). Memory is only a fit constraint here, as in the simulator, which leaves it out of the types.

The target workload is the simulator's "typical pods": the pods grouped by (milli-CPU, milli-GPU per GPU,
GPUs, GPU models), most frequent first, until they cover 95% of the pods (pods without GPU included; the
simulator's settings for the paper). The simulator takes them from the whole trace in advance; here they are
the pods arrived so far (``cluster.arrived``), all a real scheduler knows, counted incrementally in
``cluster.memory``. Since every option of a pod is measured against the same workload, the counts need no
normalising to rank them; the score is still divided by the pods covered, so it is in milli-GPU.

For speed the measure is split: fragmentation = (free milli-GPU) x (pods covered) - sum over the GPU requests
(milli-GPU per GPU, GPUs, models) of U x C, where U is the free milli-GPU of the GPUs that have room for the
request when there are enough of them (0 otherwise), which depends on the node's GPUs only and is cached per
GPU state, and C is the count of covered pods of that request with at most the node's free CPU; the sum is
cached per node state until the workload is rebuilt. The workload is rebuilt after each arrival while the
types are few (the trace has 91), and once the arrivals since the last build reach 1% of the types when they
are many (generated pods, whose CPU varies freely), so that rebuilding stays a small share of the work.
FGD does not preempt: preemption options score None and a pod that fits nowhere stays pending.
"""

from bisect import bisect_right

FULL = 1000  # milli-GPU in one GPU
COVERAGE = 0.95  # share of the arrived pods the typical types cover (podPopularityThreshold 95)
REFRESH = 0.01  # rebuild the typical types once the arrivals since the last build reach this share of the types


def score(pod, node, gpus, victims, cluster):
    if victims:
        return None
    return fragmentation_removed(pod, node, gpus, workload(cluster))


def workload(cluster):
    """``cluster.memory``, with the arrivals counted and the target workload up to date."""
    memory = cluster.memory
    arrived = cluster.arrived
    seen = memory.get("seen", 0)
    if seen < len(arrived):
        counts = memory.setdefault("counts", {})
        requests = memory.setdefault("requests", {})
        memory.setdefault("usable", {})
        for p in arrived[seen:]:
            key = (p.cpu, p.milli, p.num_gpu, p.models)
            counts[key] = counts.get(key, 0) + 1
            if p.num_gpu and (p.milli, p.num_gpu, p.models) not in requests:
                requests[(p.milli, p.num_gpu, p.models)] = len(requests)
                memory["usable"] = {}  # its entries lack the new request
        memory["seen"] = len(arrived)
        if "target" not in memory or len(arrived) - memory["built"] >= REFRESH * len(counts):
            memory["target"], memory["built"], memory["fit"] = typical(counts, requests), len(arrived), {}
    return memory


# EVOLVE-BLOCK-START
def typical(counts, requests):
    """The typical types: most frequent first (ties: larger CPU, share, GPUs, models first, as the simulator
    sorts), until they cover COVERAGE of the pods. Returns (pods covered, {request id: (CPUs in increasing
    order, counts of the covered pods of the request with at most each CPU)})."""
    ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
    goal = COVERAGE * sum(counts.values())
    covered = 0
    by_request = {}
    for (cpu, milli, num_gpu, models), count in ranked:
        if covered >= goal:
            break
        covered += count
        if num_gpu:
            by_request.setdefault(requests[(milli, num_gpu, models)], []).append((cpu, count))
    table = {}
    for request, rows in by_request.items():
        rows.sort()
        prefix = [0]
        for _, count in rows:
            prefix.append(prefix[-1] + count)
        table[request] = ([cpu for cpu, _ in rows], prefix)
    return covered, table


def usable(memory, model, free):
    """For each GPU request with room on GPUs ``free`` (a tuple) of a ``model`` node: (request id, free
    milli-GPU of the GPUs it fits on), when enough of them do; cached per GPU state."""
    key = (model, free)
    found = memory["usable"].get(key)
    if found is None:
        found = []
        if any(free):
            for (milli, num_gpu, models), request in memory["requests"].items():
                if models and model not in models:
                    continue
                room = [f for f in free if f >= milli]
                if len(room) >= num_gpu:
                    found.append((request, sum(room)))
        memory["usable"][key] = found
    return found


def fitting(memory, model, free, cpu):
    """Sum over the typical GPU requests of U x C (module docstring) for a node state: the free milli-GPU that
    covered pods could use, times those pods; cached per state until the workload is rebuilt."""
    key = (model, free, cpu)
    value = memory["fit"].get(key)
    if value is None:
        table = memory["target"][1]
        value = 0
        for request, room in usable(memory, model, free):
            row = table.get(request)
            if row is not None:
                value += room * row[1][bisect_right(row[0], cpu)]
        memory["fit"][key] = value
    return value


def fragmentation_removed(pod, node, gpus, memory):
    """Fragmentation of the node before minus after placing the pod on ``gpus``, in milli-GPU."""
    covered = memory["target"][0]
    before = tuple(node.gpu_free)
    after = before
    if gpus:
        after = list(before)
        for g in gpus:
            after[g] -= pod.milli
        after = tuple(after)
    cpu = node.cpu_free
    # fragmentation x covered = free milli-GPU x covered - fitting; the pod takes as much free GPU anywhere
    removed = covered * pod.num_gpu * pod.milli
    removed += fitting(memory, node.model, after, cpu - pod.cpu) - fitting(memory, node.model, before, cpu)
    return removed / covered


# EVOLVE-BLOCK-END
