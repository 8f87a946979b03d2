"""The baselines of ``moe`` against hand-worked cases of the algorithms they implement, and the seed against EPLB."""

from __future__ import annotations

import types

import numpy as np
import pytest

from problems.base import seed_module
from problems.moe.instances import cluster_data
from problems.moe.loads import Cluster, generate
from problems.moe.plan import gpu_loads, parse_plan


def load_seed(name: str) -> types.ModuleType:
    return seed_module(f"moe/{name}", name.removesuffix(".py"))


def as_plan(output: dict, cluster: Cluster, hierarchical: bool):
    return parse_plan({k: np.asarray(v).tolist() for k, v in output.items()}, cluster, hierarchical)


# The example of DeepSeek's EPLB README: 2 layers of 12 experts, 16 slots, 4 groups, 2 nodes, 8 GPUs.
README_LOADS = np.array(
    [
        [90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
        [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27],
    ]
)
README_PLACEMENT = [
    [5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1],
    [7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1],
]


def test_hierarchical_eplb_reproduces_the_published_example():
    eplb = load_seed("eplb_hierarchical.py")
    placement, count = eplb.rebalance_hierarchical(README_LOADS.astype(float), 16, 4, 2, 8)
    assert placement.tolist() == README_PLACEMENT
    assert count.tolist() == [np.bincount(row, minlength=12).tolist() for row in README_PLACEMENT]


def test_hierarchical_eplb_keeps_each_group_on_one_node_with_equal_groups_per_node():
    eplb = load_seed("eplb_hierarchical.py")
    placement, _ = eplb.rebalance_hierarchical(README_LOADS.astype(float), 16, 4, 2, 8)
    for row in placement:
        nodes_of_group = {}
        for slot, expert in enumerate(row):
            nodes_of_group.setdefault(expert // 3, set()).add(slot // 8)
        assert all(len(nodes) == 1 for nodes in nodes_of_group.values())
        assert sorted(next(iter(n)) for n in nodes_of_group.values()) == [0, 0, 1, 1]


def test_global_eplb_on_a_hand_worked_case():
    # Loads 6, 3, 1, 2 on 6 slots of 3 GPUs. Replication: expert 0 (6) gets the first spare slot (3 per
    # replica), then it ties with expert 1 (3) and the lower id wins: 3 replicas of 2. Replica loads in slot
    # order [2, 3, 1, 2, 2, 2]; packing largest first (ties in slot order) onto the lightest GPU with room:
    # slot 1 -> GPU 0, slot 0 -> GPU 1, slot 3 -> GPU 2, slot 4 -> GPU 1, slot 5 -> GPU 2, slot 2 -> GPU 0.
    cluster = Cluster(1, 4, 6, 3, 1, 1)
    out = load_seed("eplb_global.py").rebalance(np.array([[[6, 3, 1, 2]]]), cluster_data(cluster, False))
    assert np.asarray(out["placement"]).tolist() == [[[1, 2], [0, 0], [3, 0]]]
    assert np.asarray(out["replicas"]).tolist() == [[3, 1, 1, 1]]
    plan = as_plan(out, cluster, False)
    assert gpu_loads(plan, np.array([[6.0, 3, 1, 2]])).tolist() == [[4.0, 4.0, 4.0]]


def test_lpt_places_one_replica_per_expert_largest_first_and_leaves_spare_slots_empty():
    # Loads 7, 5, 4, 3, 1 on 3 GPUs of 2 slots: 7 -> G0, 5 -> G1, 4 -> G2, 3 -> G2 (4 < 5 < 7), 1 -> G1.
    cluster = Cluster(1, 5, 6, 3, 1, 1)
    out = load_seed("lpt.py").rebalance(np.array([[[7, 5, 4, 3, 1]]]), cluster_data(cluster, False))
    assert np.asarray(out["placement"]).tolist() == [[[0, -1], [1, 4], [2, 3]]]
    assert np.asarray(out["replicas"]).tolist() == [[1, 1, 1, 1, 1]]


def test_round_robin_deals_slots_in_turn_and_replicates_the_lowest_ids():
    cluster = Cluster(2, 4, 6, 3, 1, 1)
    out = load_seed("round_robin.py").rebalance(np.zeros((1, 2, 4), dtype=np.int64), cluster_data(cluster, False))
    # Slots 0..5 hold experts 0 1 2 3 0 1; slot s goes to GPU s mod 3, position s // 3.
    assert np.asarray(out["placement"]).tolist() == [[[0, 3], [1, 0], [2, 1]]] * 2
    assert np.asarray(out["replicas"]).tolist() == [[2, 2, 1, 1]] * 2


@pytest.mark.parametrize("name", ["seed.py", "eplb_hierarchical.py", "eplb_global.py", "round_robin.py", "lpt.py"])
@pytest.mark.parametrize("hierarchical", [False, True])
def test_every_baseline_makes_a_valid_plan_for_a_real_shape(name, hierarchical):
    cluster = Cluster(6, 128, 160, 16, 2, 8)  # Qwen-MoE-like, 6 layers
    history = generate("qwen3-moe", 4, 7, layers=6)
    out = load_seed(name).rebalance(history, cluster_data(cluster, hierarchical))
    plan = as_plan(out, cluster, hierarchical)  # raises with the reason if the plan is invalid
    assert plan.placement.shape == (6, 16, 10)


def test_the_seed_makes_eplbs_global_plan_when_it_weighs_all_history_alike():
    cluster = Cluster(6, 128, 160, 16, 2, 8)
    history = generate("qwen3-moe", 6, 11, layers=6)
    for hierarchical in (False, True):
        config = cluster_data(cluster, hierarchical)
        seed = as_plan(load_seed("seed.py").rebalance(history, config), cluster, hierarchical)
        eplb = as_plan(load_seed("eplb_global.py").rebalance(history, config), cluster, hierarchical)
        predicted = history.sum(axis=0).astype(float)
        # Same replicas; the GPUs' predicted loads agree up to the order of GPUs inside a layer (replicas of
        # equal load may swap places).
        assert (seed.replicas == eplb.replicas).all()
        seed_loads, eplb_loads = gpu_loads(seed, predicted), gpu_loads(eplb, predicted)
        assert np.allclose(np.sort(seed_loads, axis=1), np.sort(eplb_loads, axis=1))
