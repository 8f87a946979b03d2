"""Baseline for `moe`: static round-robin placement, blind to load.

What an expert-parallel deployment does without a load balancer: physical slot `s` of a node holds the node's
expert `s mod n` (so the first spare slots replicate the lowest-numbered experts, whatever their load), and the
node's slots are dealt over its GPUs in turn. Each node holds its own contiguous range of experts when the
instance asks for the hierarchy; otherwise the whole cluster is one node. It ignores the history: the floor
every load-aware plan should clear.

`rebalance(history, cluster)` returns replica counts [layers][experts] and the placement [layers][gpus][slots
per gpu] of expert ids (see docs/moe.md).
"""

import numpy as np


# EVOLVE-BLOCK-START
def rebalance(history, cluster):
    """The same plan for every layer and every window."""
    layers, experts, slots, gpus = cluster["layers"], cluster["experts"], cluster["slots"], cluster["gpus"]
    nodes = cluster["nodes"] if cluster["hierarchical"] else 1
    per_node_experts, per_node_slots, per_node_gpus = experts // nodes, slots // nodes, gpus // nodes
    per_gpu = slots // gpus
    placement = np.empty((gpus, per_gpu), dtype=np.int64)
    for node in range(nodes):
        for s in range(per_node_slots):
            gpu = node * per_node_gpus + s % per_node_gpus
            placement[gpu, s // per_node_gpus] = node * per_node_experts + s % per_node_experts
    replicas = np.bincount(placement.ravel(), minlength=experts)
    return {
        "replicas": np.tile(replicas, (layers, 1)),
        "placement": np.tile(placement, (layers, 1, 1)),
    }


# EVOLVE-BLOCK-END
