"""Initial program for evolving an expert-parallel load balancer (the `moe` problem).

EPLB's plan (DeepSeek-V3 report, section 3.4) written with every step vectorized over layers: predict each
expert's load on the next window from the history, give each spare slot to the expert with the most predicted
load per replica, and pack the replicas onto GPUs largest first, each to the least loaded GPU that still has a
free slot. Where the instance asks for the hierarchy, expert groups are first packed onto nodes the same way
(an equal number per node) and each node is planned on its own.

The prediction weighs a window `RECENCY` times as much as the window after it; at 1.0 it is EPLB's plain sum of
the history. Inside the EVOLVE-BLOCK: the prediction, replication and packing. Outside it: the bookkeeping that
maps expert groups onto nodes and node-local ids back to expert ids. Room for evolution: the prediction (loads
drift and burst), replicas that hedge against its error, packing that looks beyond one greedy pass, and speed.

`rebalance(history, cluster)` returns replica counts [layers][experts] and the placement [layers][gpus][slots
per gpu] of expert ids (see docs/moe.md).
"""

import numpy as np

# EVOLVE-BLOCK-START
RECENCY = 1.0


def pack(weight, bins, per_bin):
    """Items of each row of `weight` [rows, n] into `bins` bins of `per_bin` items, largest first, each to the
    lightest bin with room. Returns the bin of each item and its position in the bin, both [rows, n]."""
    rows, items = weight.shape
    every_row = np.arange(rows)
    order = np.argsort(-weight, axis=1, kind="stable")
    bin_load = np.zeros((rows, bins))
    bin_count = np.zeros((rows, bins), dtype=np.int64)
    item_bin = np.empty((rows, items), dtype=np.int64)
    item_pos = np.empty((rows, items), dtype=np.int64)
    for rank in range(items):
        item = order[:, rank]
        choice = np.argmin(np.where(bin_count < per_bin, bin_load, np.inf), axis=1)
        item_bin[every_row, item] = choice
        item_pos[every_row, item] = bin_count[every_row, choice]
        bin_load[every_row, choice] += weight[every_row, item]
        bin_count[every_row, choice] += 1
    return item_bin, item_pos


def replicate(weight, slots):
    """Replica counts [rows, n] filling `slots` slots per row: one each, then each spare slot to the expert with
    the most load per replica. Returns (counts, expert of each slot [rows, slots])."""
    rows, experts = weight.shape
    every_row = np.arange(rows)
    count = np.ones((rows, experts), dtype=np.int64)
    for _ in range(slots - experts):
        count[every_row, np.argmax(weight / count, axis=1)] += 1
    expert_of_slot = np.stack([np.repeat(np.arange(experts), row) for row in count])
    return count, expert_of_slot


def predict(history):
    """Expected load of each expert [layers, experts] on the next window."""
    weights = RECENCY ** np.arange(len(history), dtype=np.float64)[::-1]
    return np.tensordot(weights, history.astype(np.float64), axes=1)


def plan_gpus(load, slots, gpus):
    """Replicas and placement of each row's experts over `gpus` GPUs with `slots` slots in all."""
    count, expert_of_slot = replicate(load, slots)
    replica_load = np.take_along_axis(load / count, expert_of_slot, axis=1)
    gpu, position = pack(replica_load, gpus, slots // gpus)
    placement = np.empty_like(expert_of_slot)
    rows = np.arange(len(load))[:, None]
    placement[rows, gpu * (slots // gpus) + position] = expert_of_slot
    return count, placement


# EVOLVE-BLOCK-END


def rebalance(history, cluster):
    """Replica counts and placement for the next window."""
    load = predict(history)
    layers, experts, slots, gpus = cluster["layers"], cluster["experts"], cluster["slots"], cluster["gpus"]
    nodes = cluster["nodes"] if cluster["hierarchical"] else 1
    groups = cluster["groups"] if cluster["hierarchical"] else 1
    size = experts // groups
    # Groups onto nodes; then each (layer, node) is one row of experts planned over the node's GPUs.
    group_node, group_pos = pack(load.reshape(layers, groups, size).sum(axis=2), nodes, groups // nodes)
    first = (group_node * (groups // nodes) + group_pos) * size
    expert_at = np.empty((layers, experts), dtype=np.int64)
    local_of = (first[:, :, None] + np.arange(size)).reshape(layers, experts)
    np.put_along_axis(expert_at, local_of, np.broadcast_to(np.arange(experts), (layers, experts)), axis=1)
    node_load = np.take_along_axis(load, expert_at, axis=1).reshape(layers * nodes, experts // nodes)
    node_count, node_placement = plan_gpus(node_load, slots // nodes, gpus // nodes)
    local = node_placement.reshape(layers, nodes, -1) + (np.arange(nodes) * (experts // nodes))[:, None]
    placement = np.take_along_axis(expert_at, local.reshape(layers, slots), axis=1)
    count = np.empty((layers, experts), dtype=np.int64)
    np.put_along_axis(count, expert_at, node_count.reshape(layers, experts), axis=1)
    return {"replicas": count, "placement": placement.reshape(layers, gpus, slots // gpus)}
