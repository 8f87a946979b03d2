"""Baseline for `moe`: greedy LPT packing, with no replica beyond one per expert.

Longest Processing Time first (Graham, 1969), the classic greedy for makespan: experts by decreasing load (the
sum over the history window), each to the least loaded GPU that still has a free slot; spare slots stay empty
(-1). Where the instance asks for the hierarchy, expert groups are first packed onto nodes the same way (an
equal number per node), then each node's experts onto its GPUs. Comparing it with EPLB shows what the redundant
slots buy: a hot expert can never be split, so its GPU sets the step time.

`rebalance(history, cluster)` returns replica counts [layers][experts] and the placement [layers][gpus][slots
per gpu] of expert ids (see docs/moe.md).
"""

import numpy as np


# EVOLVE-BLOCK-START
def lpt(weights, bins, capacity):
    """Indices of `weights` packed into `bins` bins of at most `capacity` items, largest first."""
    load = [0.0] * bins
    members = [[] for _ in range(bins)]
    for item in sorted(range(len(weights)), key=lambda i: -weights[i]):
        target = min((b for b in range(bins) if len(members[b]) < capacity), key=load.__getitem__)
        members[target].append(item)
        load[target] += weights[item]
    return members


def rebalance(history, cluster):
    """One replica per expert, placed by LPT for every layer."""
    weight = history.sum(axis=0).astype(float)
    layers, experts, gpus, per_gpu = cluster["layers"], cluster["experts"], cluster["gpus"], cluster["slots_per_gpu"]
    nodes = cluster["nodes"] if cluster["hierarchical"] else 1
    groups = cluster["groups"] if cluster["hierarchical"] else 1
    size, per_node_gpus = experts // groups, gpus // nodes
    placement = np.full((layers, gpus, per_gpu), -1, dtype=np.int64)
    for layer in range(layers):
        group_load = [float(weight[layer, g * size : (g + 1) * size].sum()) for g in range(groups)]
        for node, node_groups in enumerate(lpt(group_load, nodes, groups // nodes)):
            node_experts = [g * size + k for g in node_groups for k in range(size)]
            loads = [float(weight[layer, e]) for e in node_experts]
            for i, members in enumerate(lpt(loads, per_node_gpus, per_gpu)):
                for slot, item in enumerate(members):
                    placement[layer, node * per_node_gpus + i, slot] = node_experts[item]
    return {"replicas": np.ones((layers, experts), dtype=np.int64), "placement": placement}


# EVOLVE-BLOCK-END
