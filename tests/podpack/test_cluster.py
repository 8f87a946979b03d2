"""podpack's cluster rules: what fits, GPU sharing, model constraints, Kubernetes preemption, and the runner's
two halves against hostile policies."""

from __future__ import annotations

import types

import pytest

from evaluators.lockstep import play_locally
from problems.base import PolicyError
from problems.podpack import runner
from problems.podpack.cluster import Cluster, Infeasible

# [cpu, mem, gpus, model]
NODES = [[8000, 32768, 2, "T4"], [8000, 32768, 2, "T4"], [16000, 65536, 4, "V100"]]


def pod(cpu=1000, mem=1024, num_gpu=1, milli=500, models=(), priority=1):
    return [cpu, mem, num_gpu, milli, list(models), priority]


def policy(score) -> types.SimpleNamespace:
    return types.SimpleNamespace(score=score)


def test_sharing_pods_share_a_gpu_up_to_its_capacity_and_whole_gpus_must_be_idle():
    state = Cluster(NODES, [pod(milli=600), pod(milli=400), pod(milli=100), pod(num_gpu=2, milli=1000)])
    state.apply(0, [0, [0], False])
    state.apply(1, [0, [0], False])
    assert state.gpu_free[0] == [0, 1000]
    with pytest.raises(Infeasible, match="GPU 0 of node 0 has 0 milli-GPU free, the pod needs 100"):
        state.apply(2, [0, [0], False])
    with pytest.raises(Infeasible, match="GPU 0 of node 0 has 0 milli-GPU free, the pod needs 1000"):
        state.apply(3, [0, [0, 1], False])
    state.apply(3, [2, [1, 3], False])
    assert state.gpu_free[2] == [1000, 0, 1000, 0]


@pytest.mark.parametrize(
    "decision, message",
    [
        ("node 0", "a decision is null or"),
        ([True, [0], False], "no node True"),
        ([3, [0], False], "no node 3"),
        ([10**400, [0], False], "no node"),
        ([0, [0], 1], "preempt a bool"),
        ([0, [0.0], False], "a list of ints"),
        ([0, [], False], "needs 1 GPU"),
        ([0, [2], False], "has GPUs 0-1"),
        ([0, [0, 0], False], "needs 1 GPU"),
        ([1, [0], False], "runs only on V100"),
    ],
)
def test_every_malformed_or_impossible_decision_is_refused_with_one_line(decision, message):
    state = Cluster(NODES, [pod(models=["V100"]) if decision[0] == 1 else pod()])
    with pytest.raises(Infeasible, match=message) as caught:
        state.apply(0, decision)
    assert "\n" not in str(caught.value)
    assert state.where == {} and state.gpu_free[0] == [1000, 1000]  # nothing changed


def test_cpu_and_memory_are_checked_and_a_cpu_pod_takes_no_gpu():
    state = Cluster(NODES, [pod(cpu=9000, num_gpu=0, milli=0), pod(mem=40000, num_gpu=0, milli=0)])
    with pytest.raises(Infeasible, match="node 0 has 8000 milli-CPU free, the pod needs 9000"):
        state.apply(0, [0, [], False])
    with pytest.raises(Infeasible, match="node 1 has 32768 MiB free, the pod needs 40000"):
        state.apply(1, [1, [], False])
    state.apply(1, [2, [], False])
    assert state.gpu_free[2] == [1000] * 4 and state.mem_free[2] == 65536 - 40000


def test_preemption_evicts_the_fewest_lowest_pods_as_kubernetes_reprieves_them():
    # Node 0 holds a low pod on each GPU and a mid one sharing GPU 1; the high pod needs a whole GPU.
    pods = [
        pod(priority=0, milli=300),
        pod(priority=0, milli=300),
        pod(priority=1, milli=300),
        pod(num_gpu=1, milli=1000, priority=2),
    ]
    state = Cluster([NODES[0]], pods)
    state.apply(0, [0, [0], False])
    state.apply(1, [0, [1], False])
    state.apply(2, [0, [1], False])
    assert state.victims(3, 0) == [0]  # emptying GPU 0 (one low pod) is enough; the others are reprieved
    assert [node for node, _, _ in state.preemptions(3)] == [0]
    assert state.apply(3, [0, [0], True]) == [0]
    assert state.evicted == [0] and 0 not in state.where and state.where[3] == 0


def test_a_preemption_whose_gpus_have_no_room_is_refused_and_evicts_nobody():
    pods = [pod(priority=0, milli=300), pod(priority=0, milli=300), pod(num_gpu=1, milli=1000, priority=2)]
    state = Cluster([NODES[0]], pods)
    state.apply(0, [0, [0], False])
    state.apply(1, [0, [1], False])
    assert state.victims(2, 0) == [1]  # the earliest placed is reprieved first
    with pytest.raises(Infeasible, match="GPU 0 of node 0 has 700 milli-GPU free, the pod needs 1000"):
        state.apply(2, [0, [0], True])  # room is made on GPU 1, not on GPU 0
    assert state.evicted == [] and state.where == {0: 0, 1: 0} and state.gpu_free[0] == [700, 700]
    assert list(state.hosted[0]) == [0, 1] and state.apply(2, [0, [1], True]) == [1]  # reprieve order kept


def test_preemption_options_follow_the_nodes_as_they_change():
    whole = pod(num_gpu=2, milli=1000, priority=0)
    state = Cluster(
        NODES[:2], [whole, whole, pod(num_gpu=2, milli=1000, priority=2), pod(num_gpu=2, milli=1000, priority=2)]
    )
    state.apply(0, [0, [0, 1], False])
    state.apply(1, [1, [0, 1], False])
    assert state.preemptions(2) == [(0, (0, 1), [0]), (1, (0, 1), [1])]
    state.apply(2, [0, [0, 1], True])
    assert state.preemptions(3) == [(1, (0, 1), [1])]  # node 0 now holds a pod of the same priority


def test_preemption_is_refused_when_the_pod_fits_or_nothing_lower_would_make_room():
    pods = [pod(priority=2, milli=1000), pod(priority=2, milli=1000), pod(priority=2, milli=1000)]
    state = Cluster([NODES[0]], pods)
    state.apply(0, [0, [0], False])
    with pytest.raises(Infeasible, match="only for a pod that fits nowhere"):
        state.apply(1, [0, [1], True])
    state.apply(1, [0, [1], False])
    with pytest.raises(Infeasible, match="would not make room"):  # equal priority is never preempted
        state.apply(2, [0, [0], True])
    assert state.preemptions(2) == []


def test_identical_nodes_are_offered_once_and_sharing_pods_once_per_distinct_free_share():
    state = Cluster(NODES, [pod(milli=300), pod(milli=300), pod(milli=200)])
    assert state.options(0) == [(0, (0,)), (2, (0,))]  # node 1 is node 0's twin
    state.apply(0, [0, [0], False])
    state.apply(1, [2, [0], False])
    assert state.options(2) == [(0, (0,)), (0, (1,)), (1, (0,)), (2, (0,)), (2, (1,))]
    assert state.classes[state.signature[1]] == [1]


def test_the_policy_sees_options_and_the_log_replays_on_a_fresh_cluster():
    pods = [pod(milli=300), pod(num_gpu=2, milli=1000), pod(num_gpu=0, milli=0, cpu=7000), pod(num_gpu=4, milli=1000)]
    seen = []

    def fullest(p, node, gpus, victims, cluster):
        seen.append((p.index, node.index, gpus, len(cluster.arrived)))
        return -sum(node.gpu_free)

    log = play_locally(runner, policy(fullest), {"nodes": NODES, "pods": pods})
    assert log[0] == [0, [0], False]  # ties: the first option
    assert log[1] == [0, [0, 1], False] or log[1] == [1, [0, 1], False]
    assert log[3] == [2, [0, 1, 2, 3], False]
    assert all(count == index + 1 for index, _, _, count in seen)  # only pods arrived so far are known
    state = Cluster(NODES, pods)
    for index, decision in enumerate(log):
        state.apply(index, decision)
    assert len(state.where) == 4


@pytest.mark.parametrize(
    "score, error",
    [
        (lambda *args: float("nan"), "score must return a number or None"),
        (lambda *args: "high", "score must return a number or None"),
        (lambda *args: True, "score must return a number or None"),
    ],
)
def test_a_score_that_is_not_a_number_is_the_candidates_error(score, error):
    with pytest.raises(TypeError, match=error):
        play_locally(runner, policy(score), {"nodes": NODES, "pods": [pod()]})


def test_a_candidate_without_score_names_the_signature():
    with pytest.raises(AttributeError, match=r"score\(pod, node, gpus, victims, cluster\)"):
        play_locally(runner, types.SimpleNamespace(), {"nodes": NODES, "pods": [pod()]})


def test_none_everywhere_leaves_pods_pending_and_the_simulation_refuses_a_forged_decision():
    data = {"nodes": NODES, "pods": [pod(), pod()]}
    assert play_locally(runner, policy(lambda *args: None), data) == [None, None]
    driver = runner.drive(data)
    next(driver)
    driver.send([0, [0], False])
    with pytest.raises(PolicyError, match="pod 1: no node 7"):
        driver.send([7, [0], False])
