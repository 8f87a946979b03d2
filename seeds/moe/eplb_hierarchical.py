"""Baseline for `moe`: DeepSeek's expert-parallelism load balancer (EPLB), hierarchical mode, in numpy.

Written from the algorithm's public description (DeepSeek-V3 technical report, section 3.4, and the README of
`deepseek-ai/EPLB`): the load estimate is the sum of the loads in the history window, then
1. expert groups are packed onto nodes, the same number of groups per node, balancing the nodes' loads;
2. inside each node, its slots are filled by replication: each extra slot goes to the node's expert with the
   highest load per replica;
3. the node's replicas (each carrying its expert's load over its replica count) are packed onto the node's GPUs,
   the same number of slots per GPU, balancing the GPUs' loads.
Packing is "balanced packing": items by decreasing weight, each to the lightest pack that still has room
(ties go to the lower pack). Every expert group ends up on one node, which keeps DeepSeek's group-limited
routing inside a node. On a cluster where the groups cannot be split evenly over the nodes it falls back to the
global mode (one group, one node), as DeepSeek's dispatcher does.

`rebalance(history, cluster)` returns replica counts [layers][experts] and the placement [layers][gpus][slots
per gpu] of expert ids (see docs/moe.md).
"""

import numpy as np


# EVOLVE-BLOCK-START
def balanced_packing(weight, packs):
    """Pack the items of each row of `weight` [rows, n] into `packs` packs of n / packs items each.

    Returns (pack index, rank inside the pack), both [rows, n].
    """
    rows, items = weight.shape
    per_pack = items // packs
    pack = np.empty((rows, items), dtype=np.int64)
    rank = np.empty((rows, items), dtype=np.int64)
    for row in range(rows):
        loads = [0.0] * packs
        counts = [0] * packs
        for item in np.argsort(-weight[row], kind="stable"):
            choice = min((p for p in range(packs) if counts[p] < per_pack), key=loads.__getitem__)
            pack[row, item] = choice
            rank[row, item] = counts[choice]
            loads[choice] += float(weight[row, item])
            counts[choice] += 1
    return pack, rank


def replicate(weight, slots):
    """Fill `slots` slots from the experts of each row of `weight` [rows, n], one each first, then each extra
    slot to the expert with the highest load per replica.

    Returns (expert of each slot [rows, slots], replica number of each slot, replica count [rows, n]).
    """
    rows, experts = weight.shape
    expert_of = np.empty((rows, slots), dtype=np.int64)
    expert_of[:, :experts] = np.arange(experts)
    replica_no = np.zeros((rows, slots), dtype=np.int64)
    count = np.ones((rows, experts), dtype=np.int64)
    every_row = np.arange(rows)
    for slot in range(experts, slots):
        hottest = np.argmax(weight / count, axis=1)
        expert_of[:, slot] = hottest
        replica_no[:, slot] = count[every_row, hottest]
        count[every_row, hottest] += 1
    return expert_of, replica_no, count


def inverse(permutation):
    """The inverse of each row's permutation."""
    out = np.empty_like(permutation)
    np.put_along_axis(out, permutation, np.arange(permutation.shape[1])[None, :].repeat(len(permutation), 0), 1)
    return out


def rebalance_hierarchical(weight, slots, groups, nodes, gpus):
    """EPLB's three steps; returns (expert of each physical slot [layers, slots], replica counts [layers, E])."""
    layers, experts = weight.shape
    group_size = experts // groups
    groups_per_node = groups // nodes
    slots_per_gpu = slots // gpus
    # 1. Groups onto nodes. Experts are then renumbered node by node ("node-local" numbering).
    group_load = weight.reshape(layers, groups, group_size).sum(axis=2)
    group_node, group_rank = balanced_packing(group_load, nodes)
    first_local = (group_node * groups_per_node + group_rank) * group_size
    local_of = (first_local[:, :, None] + np.arange(group_size)).reshape(layers, experts)
    expert_at_local = inverse(local_of)
    # 2. Replication inside each node: rows are (layer, node) pairs.
    local_load = np.take_along_axis(weight, expert_at_local, axis=1).reshape(layers * nodes, experts // nodes)
    local_of_slot, replica_no, local_count = replicate(local_load, slots // nodes)
    # 3. The node's replicas onto its GPUs.
    replica_load = np.take_along_axis(local_load / local_count, local_of_slot, axis=1)
    gpu, gpu_rank = balanced_packing(replica_load, gpus // nodes)
    position = gpu * slots_per_gpu + gpu_rank
    slot_at_position = inverse(position)
    local_at_position = np.take_along_axis(local_of_slot, slot_at_position, axis=1)
    node_offset = (np.arange(nodes) * (experts // nodes))[:, None]
    local_at_position = (local_at_position.reshape(layers, nodes, -1) + node_offset).reshape(layers, slots)
    expert_at_position = np.take_along_axis(expert_at_local, local_at_position, axis=1)
    count = np.take_along_axis(local_count.reshape(layers, experts), local_of, axis=1)
    return expert_at_position, count


def rebalance(history, cluster):
    """Replica counts and placement for the next window, from the summed loads of the history window."""
    weight = history.sum(axis=0).astype(np.float64)
    groups, nodes = cluster["groups"], cluster["nodes"]
    if groups % nodes:
        groups, nodes = 1, 1
    expert_at, count = rebalance_hierarchical(weight, cluster["slots"], groups, nodes, cluster["gpus"])
    placement = expert_at.reshape(cluster["layers"], cluster["gpus"], cluster["slots_per_gpu"])
    return {"replicas": count, "placement": placement}


# EVOLVE-BLOCK-END
