"""The ``podpack`` baselines and seed (seeds/podpack/*.py): each policy's defining choice on a small hand-made
cluster, and every one of them feasible through the runner on generated instances.

Nodes are ``[milli-CPU, MiB, GPUs, model]`` and pods ``[milli-CPU, MiB, GPUs, milli-GPU per GPU, [models],
priority]``; a decision is ``[node, [GPUs], preempt]``. Pods set up "by hand" are placed with decisions of the
test's choosing (``ClusterView.record``), so the policy sees only the resulting state and the arrivals.
"""

from __future__ import annotations

import functools
import importlib.util
import random
import types

import pytest

from evaluators.lockstep import play_locally
from problems.base import seeds_dir
from problems.podpack import runner
from problems.podpack.cluster import Cluster
from problems.podpack.views import ClusterView

BASELINES = ("k8s_default", "best_fit", "dot_product", "gpu_packing", "gpu_clustering", "random_fit", "fgd")
PACKING = ("best_fit", "dot_product", "gpu_packing", "gpu_clustering", "random_fit", "fgd")  # never preempt
FULLEST_GPU = ("k8s_default", "best_fit", "random_fit", "gpu_clustering")  # the simulator's "best" GPU choice

T4 = [32000, 131072, 2, "T4"]  # a two-GPU node
CPU_NODE = [32000, 131072, 0, ""]


def pod(cpu=1000, mem=1024, num_gpu=1, milli=1000, models=(), priority=1):
    return [cpu, mem, num_gpu, milli, list(models), priority]


@functools.cache
def policy(name: str) -> types.ModuleType:
    # Test-only: seeds are candidate programs the engine runs in a sandbox; here they run in-process.
    path = seeds_dir() / "podpack" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"podpack_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decide(name: str, nodes: list, placed: list, new: list, pending: list = ()) -> list | None:
    """``name``'s decision for pod ``new`` once the ``placed`` (row, decision) pairs are carried out by hand and
    the ``pending`` rows have arrived and been left pending."""
    view = ClusterView(nodes)
    for row in pending:
        view.record(view.arrive(row), None)
    for row, decision in placed:
        view.record(view.arrive(row), decision)
    return view.decide(view.arrive(new), policy(name).score)


def play(name: str, nodes: list, pods: list) -> list:
    """The decision log of ``name`` over ``pods`` arriving in order, through both halves of the runner."""
    return play_locally(runner, policy(name), {"nodes": nodes, "pods": pods})


# --- each policy's defining choice ---------------------------------------------------------------------------


def test_best_fit_picks_the_fullest_node():
    # Left after placing a 2-core, 1-GPU pod, (CPU / 128 cores + GPU / 8 GPUs) / 2: node 0 (idle) 30/128 and
    # 1/8 -> 0.180; node 1 (one GPU and 4 cores taken) 26/128 and 0 -> 0.102; node 2 (8 cores taken) 22/128
    # and 1/8 -> 0.148. The fullest is node 1, its free GPU 1.
    placed = [(pod(cpu=4000), [1, [0], False]), (pod(cpu=8000, num_gpu=0, milli=0), [2, [], False])]
    assert decide("best_fit", [T4, T4, T4], placed, pod(cpu=2000)) == [1, [1], False]


@pytest.mark.parametrize("name", FULLEST_GPU)
def test_a_sharing_pod_takes_the_fullest_gpu_it_fits_on(name):
    placed = [(pod(milli=400), [0, [1], False]), (pod(milli=600), [0, [2], False]), (pod(milli=800), [0, [3], False])]
    # GPUs free: 1000, 600, 400, 200; a 300 share fits on all but GPU 3, and GPU 2 is the fullest of those.
    assert decide(name, [[32000, 131072, 4, "T4"]], placed, pod(milli=300)) == [0, [2], False]


def test_gpu_packing_puts_a_sharing_pod_on_an_occupied_gpu():
    whole = (pod(), [1, [0], False])  # node 1: GPU 0 taken, GPU 1 idle
    shared = (pod(milli=500), [2, [1], False])  # node 2: GPU 1 half taken
    assert decide("gpu_packing", [T4, T4, T4], [whole, shared], pod(milli=300)) == [2, [1], False]
    # Without a shared GPU to join: an idle GPU on an active node before an idle node.
    assert decide("gpu_packing", [T4, T4, T4], [whole], pod(milli=300)) == [1, [1], False]
    # A two-GPU pod fits only on the idle nodes; of those, the one with fewer GPUs.
    assert decide("gpu_packing", [[32000, 131072, 4, "T4"], T4, T4], [whole], pod(num_gpu=2)) == [2, [0, 1], False]


def test_gpu_clustering_packs_pods_of_the_same_gpu_request_together():
    # Pod 0 (one whole GPU) opens node 0. Pod 1 (a share) avoids node 0, which hosts another request, for an
    # idle node (node 1, the first of the two). Pod 2 (a share) joins pod 1 on its GPU, pod 3 (a whole GPU)
    # joins pod 0. Best-fit would have put pod 1 on node 0, the fullest.
    pods = [pod(), pod(milli=300), pod(milli=300), pod()]
    assert play("gpu_clustering", [T4, T4, T4], pods) == [[0, [0], False], [1, [0], False], [1, [0], False],
                                                          [0, [1], False]]  # fmt: skip
    assert play("best_fit", [T4, T4, T4], pods[:2])[1] == [0, [1], False]


def test_dot_product_goes_where_less_of_what_the_pod_asks_is_left():
    # The simulator's direction: the smaller the product of demand and free resources, the better.
    eight = [32000, 131072, 8, "T4"]
    assert decide("dot_product", [eight, T4], [], pod()) == [1, [0], False]
    assert decide("dot_product", [CPU_NODE, [16000, 131072, 0, ""]], [], pod(num_gpu=0, milli=0)) == [1, [], False]


def test_fgd_avoids_breaking_an_idle_gpu_when_a_partly_used_one_fits():
    # Node 0: GPU 0 idle, GPU 1 half taken; node 1 idle. Against a workload of whole GPUs and shares, a 400
    # share on GPU 1 leaves two idle GPUs whole; anywhere else it breaks one.
    workload = [pod(), pod(), pod(milli=500)]
    shared = (pod(milli=500), [0, [1], False])
    assert decide("fgd", [T4, T4], [shared], pod(milli=400), pending=workload) == [0, [1], False]


def test_fgd_keeps_a_cpu_pod_off_the_cpu_that_gpu_pods_need():
    # The workload's GPU pods need 8 cores. A 10-core pod on the 16-core GPU node would leave 6: both its
    # GPUs would be fragments. On the CPU node it fragments nothing. Dot-product packs it on the GPU node.
    gpu_node = [16000, 131072, 2, "T4"]
    workload = [pod(cpu=8000), pod(cpu=8000)]
    cpu_pod = pod(cpu=10000, num_gpu=0, milli=0)
    assert decide("fgd", [gpu_node, CPU_NODE], [], cpu_pod, pending=workload) == [1, [], False]
    assert decide("dot_product", [gpu_node, CPU_NODE], [], cpu_pod, pending=workload) == [0, [], False]


def test_fgd_measures_fragmentation_against_the_pods_arrived_so_far():
    # Node 0 has one GPU with 600 free, node 1 one idle GPU; a 300 share arrives. After a run of 600 shares,
    # 300 left on node 0 would be a fragment and 700 on node 1 is not: node 1. After a run of whole-GPU pods,
    # breaking node 1's idle GPU is the fragment: node 0.
    one = [32000, 131072, 1, "T4"]
    taken = (pod(milli=400), [0, [0], False])
    assert decide("fgd", [one, one], [taken], pod(milli=300), pending=[pod(milli=600)] * 5) == [1, [0], False]
    assert decide("fgd", [one, one], [taken], pod(milli=300), pending=[pod()] * 5) == [0, [0], False]


def test_k8s_default_spreads_onto_the_emptiest_node():
    placed = [(pod(cpu=8000, num_gpu=0, milli=0), [0, [], False]), (pod(milli=500), [1, [0], False])]
    assert decide("k8s_default", [T4, T4, T4], placed, pod(num_gpu=0, milli=0)) == [2, [], False]
    assert decide("k8s_default", [T4, T4, T4], placed, pod(milli=300)) == [2, [0], False]


def test_random_fit_is_deterministic_and_differs_across_pods():
    nodes = [[8000 + 1000 * k, 65536, 1, "T4"] for k in range(10)]  # all different: ten options
    pods = [pod(cpu=500, num_gpu=0, milli=0) for _ in range(30)]
    log = play("random_fit", nodes, pods)
    assert log == play("random_fit", nodes, pods)
    assert len({decision[0] for decision in log}) >= 5


def test_random_fit_draws_each_node_alike_though_options_stand_for_classes():
    # Nine identical idle nodes are one option (node 0), the tenth another; each pod should land on the nine
    # nine times in ten. The decisions are not carried out, so every pod sees the same two options.
    nodes = [T4] * 9 + [[32000, 131072, 2, "P100"]]
    view = ClusterView(nodes)
    picks = [view.decide(view.arrive(pod()), policy("random_fit").score)[0] for _ in range(2000)]
    assert set(picks) == {0, 9}
    assert 0.86 < picks.count(0) / len(picks) < 0.94


# --- preemption ---------------------------------------------------------------------------------------------

ONE = [8000, 32768, 1, "T4"]


def test_k8s_default_preempts_where_the_victims_matter_least_and_packing_baselines_never_preempt():
    placed = [(pod(priority=1), [0, [0], False]), (pod(priority=0), [1, [0], False])]
    urgent = pod(priority=2)
    assert decide("k8s_default", [ONE, ONE], placed, urgent) == [1, [0], True]
    assert decide("seed", [ONE, ONE], placed, urgent) == [1, [0], True]
    for name in PACKING:
        assert decide(name, [ONE, ONE], placed, urgent) is None, name


def test_k8s_default_counts_victims_before_summing_their_priorities():
    # kube-scheduler adds 2^31 to each victim's priority before summing: node 0 (victims of priorities 1, 1)
    # beats node 1 (1, 0, 0) by having fewer victims, though its plain sum is larger.
    placed = [
        (pod(milli=500, priority=1), [0, [0], False]),
        (pod(milli=500, priority=1), [0, [0], False]),
        (pod(milli=400, priority=1), [1, [0], False]),
        (pod(milli=300, priority=0), [1, [0], False]),
        (pod(milli=300, priority=0), [1, [0], False]),
    ]
    assert decide("k8s_default", [ONE, ONE], placed, pod(priority=2)) == [0, [0], True]


# --- every policy on generated instances --------------------------------------------------------------------


def generated(seed: int) -> dict:
    """A small saturated instance: mixed nodes (CPU only, 1-8 GPUs of two models) and pods of every kind,
    some limited to a model (one to a model no node has), GPU requests summing to 1.4 x the cluster's GPUs.
    The first pods ask for no GPU."""
    rng = random.Random(seed)
    kinds = [[16000, 65536, 0, ""], [32000, 131072, 2, "T4"], [64000, 262144, 4, "V100"], [96000, 393216, 8, "T4"]]
    nodes = [list(rng.choice(kinds)) for _ in range(10)]
    nodes[0], nodes[1] = list(kinds[1]), list(kinds[2])
    pods = [pod(num_gpu=0, milli=0), pod(num_gpu=0, milli=0), pod(milli=500, models=["A100"], priority=2)]
    demand, capacity = 0, 1000 * sum(n[2] for n in nodes)
    while demand < 1.4 * capacity:
        cpu, mem = 1000 * rng.randint(1, 12), 1024 * rng.randint(1, 32)
        kind = rng.random()
        if kind < 0.15:
            count, milli = 0, 0
        elif kind < 0.55:
            count, milli = 1, 10 * rng.randint(5, 95)
        else:
            count, milli = rng.choice([1, 1, 1, 2, 4]), 1000
        models = rng.choice([[], [], [], ["T4"], ["V100"], ["T4", "V100"]]) if count else []
        pods.append([cpu, mem, count, milli, models, rng.choice([0, 0, 1, 2, 2])])
        demand += count * milli
    return {"nodes": nodes, "pods": pods}


@pytest.mark.parametrize("name", [*BASELINES, "seed"])
def test_every_policy_gives_a_log_the_cluster_accepts(name):
    preempted = 0
    for seed in range(3):
        data = generated(seed)
        log = play_locally(runner, policy(name), data)
        assert len(log) == len(data["pods"])
        state = Cluster(data["nodes"], data["pods"])
        for index, decision in enumerate(log):
            state.apply(index, decision)  # raises Infeasible on any decision the rules forbid
        preempted += len(state.evicted)
        assert len(state.where) >= len(data["pods"]) // 2, "most pods find room in a 1.4x-saturated cluster"
    if name in PACKING:
        assert preempted == 0
    else:
        assert preempted > 0, "the cluster saturates: high-priority pods preempt somewhere"
