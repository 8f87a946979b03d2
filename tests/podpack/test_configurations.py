"""Column generation over node configurations (``problems/podpack/configurations.py``): its Lagrangian bound
never cuts off a placement, is tight where the per-node relaxation is not, and its dive is a feasible placement
of the cluster's rules."""

from __future__ import annotations

import random

from ortools.sat.python import cp_model

from problems.podpack import exact
from problems.podpack.configurations import Configurations
from problems.podpack.formulation import Model
from problems.podpack.greedy import greedy
from tests.podpack.test_exact import LIMIT, brute_force, pod, random_instance, replay


def configurations(nodes: list, pods: list, budget: float = LIMIT, start: list | None = None):
    """The model and its column generation, from ``start`` (default: the greedy placement)."""
    model = Model(nodes, pods, cp_model.CpModel())
    return model, Configurations(model, greedy(nodes, pods) if start is None else start, budget)


def placed(nodes: list, pods: list, assignment: list) -> tuple[int, ...]:
    state = replay(nodes, pods, assignment)  # asserts every decision fits
    return tuple(sum(1 for p in state.where if pods[p][5] == k) for k in range(3))


def test_the_bound_never_lies_below_the_optimum_and_the_dive_is_feasible():
    rng = random.Random(11)
    for _ in range(25):
        nodes, pods = random_instance(rng)
        model, found = configurations(nodes, pods)
        bound = found.bound()
        optimum = brute_force(nodes, pods)  # per priority, low first
        assert bound is not None and bound >= model.value(optimum), (nodes, pods)
        assert model.value(placed(nodes, pods, found.dive())) <= model.value(optimum)


def test_the_bound_sees_cpu_fragmentation_across_nodes():
    # Two nodes of 10 CPUs, three pods of 6: the CPUs add up to three pods (18 <= 20), but each node holds one.
    nodes = [[10000, 65536, 0, ""], [10000, 65536, 0, ""]]
    pods = [pod(cpu=6000, num_gpu=0, milli=0)] * 3
    model, found = configurations(nodes, pods)
    assert found.bound() == model.value((2, 0, 0))
    assert placed(nodes, pods, found.dive()) == (2, 0, 0)
    # the same with GPUs: two nodes of one GPU, three pods of 0.6 GPU; and a high pod outweighs the low ones
    nodes = [[32000, 65536, 1, "T4"], [32000, 65536, 1, "T4"]]
    pods = [pod(milli=600)] * 3 + [pod(milli=700, priority=2)]
    model, found = configurations(nodes, pods)
    assert found.bound() == model.value((1, 0, 1))
    solution = exact.solve(nodes, pods, LIMIT)
    assert solution.status == "optimal" and solution.placed == (1, 0, 1)


def test_the_dive_reaches_the_bound_from_no_placement_on_identical_nodes():
    # Eight identical nodes; pods whose best packing mixes sizes on every node (0.6 + 0.4 of a GPU, CPU to match).
    nodes = [[16000, 65536, 1, "T4"]] * 8
    pods = [pod(cpu=4000, milli=400)] * 8 + [pod(cpu=12000, milli=600)] * 8 + [pod(cpu=8000, milli=500)] * 4
    model, found = configurations(nodes, pods, start=[None] * len(pods))
    bound = found.bound()
    assert bound == model.value((16, 0, 0))
    assert placed(nodes, pods, found.dive()) == (16, 0, 0)
    solution = exact.solve(nodes, pods, LIMIT)
    assert solution.status == "optimal" and solution.placed == (16, 0, 0)


def test_no_budget_proves_nothing_and_places_nothing():
    nodes, pods = random_instance(random.Random(3))
    _, found = configurations(nodes, pods, budget=0.0)
    assert found.bound() is None
    assert found.dive() == [None] * len(pods)
