"""Rebalancing plans of ``moe``: checking an untrusted plan, and judging a plan on a window's loads.

A plan gives, per layer, each expert's replica count and the placement ``[gpus][slots_per_gpu]`` of expert ids
on the slots of every GPU (``-1``: an empty slot). An expert's tokens are split evenly over its replicas, so a
GPU's load is the sum over its slots of ``load[expert] / replicas[expert]``. Everything here is trusted code of
the framework process; ``parse_plan`` never raises on bad input, it returns the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from problems.moe.loads import Cluster

EMPTY = -1  # placement entry of a slot that holds no expert


class PlanError(ValueError):
    """Why an output is not a valid plan for the instance's cluster."""


@dataclass(frozen=True)
class Plan:
    """A checked plan.

    Attributes:
        replicas: int64 [layers, experts], every count >= 1.
        placement: int64 [layers, gpus, slots_per_gpu] of expert ids, or ``EMPTY``.
    """

    replicas: np.ndarray
    placement: np.ndarray


def _describe(value: Any) -> str:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value)
    if isinstance(value, int) and abs(value) >= 10**12:
        return f"<{value.bit_length()}-bit integer>"  # str() of a huge int is slow, even refused
    text = repr(value) if isinstance(value, (int, str, bool)) or value is None else type(value).__name__
    return text[:40]


def _rows(value: Any, length: int, what: str) -> list:
    if not isinstance(value, list):
        raise PlanError(f"{what} must be a list of {length}, got {_describe(value)}")
    if len(value) != length:
        raise PlanError(f"{what} has {len(value)} entries; the cluster needs {length}")
    return value


def _int_row(row: Any, length: int, what: str) -> list[int]:
    row = _rows(row, length, what)
    if not all(type(x) is int for x in row):  # bools, floats, NaN and strings are not counts or ids
        bad = next(x for x in row if type(x) is not int)
        raise PlanError(f"{what} holds {_describe(bad)}, not an integer")
    return row


def _int_matrix(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``value`` as an int64 array of exactly ``shape``, from nested lists of plain ints; PlanError otherwise."""

    def walk(node: Any, depth: int, where: str) -> list:
        if depth == len(shape) - 1:
            return _int_row(node, shape[depth], where)
        return [walk(child, depth + 1, f"{where}[{i}]") for i, child in enumerate(_rows(node, shape[depth], where))]

    rows = walk(value, 0, what)
    try:
        return np.array(rows, dtype=np.int64)
    except OverflowError:
        raise PlanError(f"{what} holds an integer out of range") from None


def _split_output(output: Any) -> tuple[Any, Any]:
    if isinstance(output, dict):
        if set(output) != {"replicas", "placement"}:
            raise PlanError(f"a plan is a dict with keys 'replicas' and 'placement', got keys {sorted(output)[:4]}")
        return output["replicas"], output["placement"]
    if isinstance(output, list) and len(output) == 2:
        return output[0], output[1]
    raise PlanError(f"a plan is {{'replicas': ..., 'placement': ...}} or a pair, got {_describe(output)}")


def parse_plan(output: Any, cluster: Cluster, hierarchical: bool) -> Plan:
    """The plan in ``output`` (the candidate's JSON), checked against ``cluster``; PlanError with the reason.

    Checked: shapes (``slots_per_gpu`` slots on every GPU of every layer), ids in range, replica counts equal
    to the placement's, every expert with a replica, and, when ``hierarchical``, every expert group on one node.
    """
    raw_replicas, raw_placement = _split_output(output)
    layers, experts, gpus, per_gpu = cluster.layers, cluster.experts, cluster.gpus, cluster.slots_per_gpu
    placement = _int_matrix(raw_placement, (layers, gpus, per_gpu), "placement")
    replicas = _int_matrix(raw_replicas, (layers, experts), "replicas")
    out_of_range = (placement < EMPTY) | (placement >= experts)
    if out_of_range.any():
        layer, gpu, slot = (int(i) for i in np.argwhere(out_of_range)[0])
        raise PlanError(
            f"layer {layer}: GPU {gpu} slot {slot} holds expert {_describe(int(placement[layer, gpu, slot]))}; "
            f"ids run from 0 to {experts - 1} ({EMPTY}: empty slot)"
        )
    flat = placement.reshape(layers, -1)
    held = np.stack([np.bincount(row[row >= 0], minlength=experts) for row in flat])
    missing = held == 0
    if missing.any():
        layer, expert = (int(i) for i in np.argwhere(missing)[0])
        raise PlanError(f"layer {layer}: expert {expert} has no replica; every expert needs at least one slot")
    disagree = held != replicas
    if disagree.any():
        layer, expert = (int(i) for i in np.argwhere(disagree)[0])
        raise PlanError(
            f"layer {layer}: replicas says expert {expert} has {int(replicas[layer, expert])}, "
            f"the placement holds {int(held[layer, expert])}"
        )
    if hierarchical:
        _check_hierarchy(placement, cluster)
    return Plan(replicas, placement)


def _check_hierarchy(placement: np.ndarray, cluster: Cluster) -> None:
    """Every replica of an expert group on one node (DeepSeek's group-limited routing stays inside a node)."""
    node_of_slot = np.repeat(np.arange(cluster.gpus) // cluster.gpus_per_node, cluster.slots_per_gpu)
    for layer, row in enumerate(placement.reshape(cluster.layers, -1)):
        used = row >= 0
        group = row[used] // cluster.experts_per_group
        node = node_of_slot[used]
        lowest = np.full(cluster.groups, cluster.nodes)
        highest = np.full(cluster.groups, -1)
        np.minimum.at(lowest, group, node)
        np.maximum.at(highest, group, node)
        split = np.flatnonzero(lowest != highest)
        if split.size:
            g = int(split[0])
            raise PlanError(
                f"layer {layer}: expert group {g} spans nodes {int(lowest[g])} and {int(highest[g])}; "
                "this instance asks for the hierarchy (each group of experts on one node)"
            )


def gpu_loads(plan: Plan, loads: np.ndarray) -> np.ndarray:
    """Load of every GPU [layers, gpus] under ``plan`` for a window's loads [layers, experts]."""
    layers, gpus, per_gpu = plan.placement.shape
    slots = plan.placement.reshape(layers, gpus * per_gpu)
    # Empty slots read expert 0's share here and are zeroed next.
    shares = np.take_along_axis(loads / plan.replicas, np.maximum(slots, 0), axis=1)
    return np.where(slots >= 0, shares, 0.0).reshape(layers, gpus, per_gpu).sum(axis=2)


def balancedness(per_gpu: np.ndarray) -> np.ndarray:
    """Mean over max of each row's GPU loads (1.0 for an idle layer): the share of the step the GPUs are busy."""
    return _ratio(per_gpu.mean(axis=1), per_gpu.max(axis=1))


def min_max_replica_load(loads: np.ndarray, slots: int) -> np.ndarray:
    """Per row of ``loads`` [layers, experts], the least possible largest load of one replica with ``slots``
    replicas in all and at least one per expert: each extra replica to the expert with the most load per
    replica (greedy is exact here, since taking a replica from the current maximum is the only way to lower it)."""
    layers, experts = loads.shape
    count = np.ones((layers, experts))
    rows = np.arange(layers)
    for _ in range(slots - experts):
        hottest = np.argmax(loads / count, axis=1)
        count[rows, hottest] += 1
    return (loads / count).max(axis=1)


def load_floor(loads: np.ndarray, cluster: Cluster, hierarchical: bool = False) -> np.ndarray:
    """A proven floor [layers] of the largest GPU load any plan reaches on ``loads`` [layers, experts].

    ``max(total / gpus, least possible largest replica load)``, since a GPU holds whole replicas; under the
    hierarchy also the busiest node's floor, ``max(total / nodes, largest group load)``, over its GPUs, since a
    group's tokens all go to one node.
    """
    floor = np.maximum(loads.sum(axis=1) / cluster.gpus, min_max_replica_load(loads, cluster.slots))
    if hierarchical:
        groups = loads.reshape(len(loads), cluster.groups, cluster.experts_per_group).sum(axis=2)
        node = np.maximum(loads.sum(axis=1) / cluster.nodes, groups.max(axis=1))
        floor = np.maximum(floor, node / cluster.gpus_per_node)
    return floor


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom, and 1.0 where bottom is 0 (an idle layer is perfectly balanced)."""
    return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), 1.0)


def bound_balancedness(loads: np.ndarray, cluster: Cluster, hierarchical: bool = False) -> float:
    """The best balancedness any plan could reach on ``loads``: mean GPU load over ``load_floor``, averaged over
    layers."""
    loads = np.asarray(loads, dtype=np.float64)
    return float(_ratio(loads.sum(axis=1) / cluster.gpus, load_floor(loads, cluster, hierarchical)).mean())


def judge(plan: Plan, loads: np.ndarray, cluster: Cluster, hierarchical: bool = False) -> dict[str, float]:
    """Metrics of ``plan`` on one window's loads [layers, experts] (means over layers).

    ``balancedness``: mean/max GPU load; ``slot_max_mean``: largest slot load over the mean slot load;
    ``balancedness_bound``: ``bound_balancedness``; ``max_load_over_bound``: the largest GPU load over
    ``load_floor`` (1.0 is a plan no other beats).
    """
    loads = np.asarray(loads, dtype=np.float64)
    per_gpu = gpu_loads(plan, loads)
    floor = load_floor(loads, cluster, hierarchical)
    return {
        "balancedness": float(balancedness(per_gpu).mean()),
        "slot_max_mean": float(_ratio((loads / plan.replicas).max(axis=1), loads.sum(axis=1) / cluster.slots).mean()),
        "balancedness_bound": bound_balancedness(loads, cluster, hierarchical),
        "max_load_over_bound": float(_ratio(per_gpu.max(axis=1), floor).mean()),
    }
