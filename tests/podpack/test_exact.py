"""podpack's CP-SAT reference (``problems/podpack/exact.py``, its model ``formulation.py`` and greedy start
``greedy.py``): against a brute force on tiny instances, the lexicographic order of priorities, the cluster's
rules, hints, the bound's decoding, reproducibility and the optional wall-clock limit."""

from __future__ import annotations

import math
import random

import pytest

from problems.podpack import exact, formulation
from problems.podpack.cluster import FULL, Cluster

LIMIT = 5.0  # deterministic seconds: far more than the tiny instances need


def pod(cpu=1000, mem=1024, num_gpu=1, milli=500, models=(), priority=0):
    return [cpu, mem, num_gpu, milli, list(models), priority]


def brute_force(nodes: list, pods: list) -> tuple[int, ...]:
    """The lexicographic optimum (pods placed per priority, high first), over every placement of every pod:
    pending, or on any node, on any GPU (a sharing pod) or any set of idle GPUs (a whole-GPU pod)."""
    state = Cluster(nodes, pods)
    placed = [0, 0, 0]
    best = [None]

    def options(p):
        count, milli = pods[p][2], pods[p][3]
        for n in range(len(nodes)):
            if count == 0:
                yield n, ()
            elif milli < FULL:
                for g in range(nodes[n][2]):
                    yield n, (g,)
            else:
                idle = [g for g, f in enumerate(state.gpu_free[n]) if f == FULL]  # interchangeable
                yield n, tuple(idle[:count])

    def rest_upper(p):
        upper = list(placed)
        for q in range(p, len(pods)):
            upper[pods[q][5]] += 1
        return upper[::-1]

    def visit(p):
        if best[0] is not None and rest_upper(p) <= best[0]:
            return
        if p == len(pods):
            best[0] = placed[::-1]
            return
        for n, gpus in options(p):
            if state.fit_error(p, n, gpus) == "":
                state.place(p, n, gpus)
                placed[pods[p][5]] += 1
                visit(p + 1)
                placed[pods[p][5]] -= 1
                state.evict(p)
        visit(p + 1)

    visit(0)
    return tuple(best[0][::-1])


def random_instance(rng: random.Random) -> tuple[list, list]:
    nodes = [
        [rng.choice((4000, 8000)), rng.choice((8192, 16384)), rng.randint(0, 3), ""] for _ in range(rng.randint(2, 3))
    ]
    for node in nodes:
        node[3] = rng.choice(("A", "B")) if node[2] else ""
    pods = []
    for _ in range(rng.randint(4, 7)):
        kind = rng.random()
        if kind < 0.2:
            count, milli = 0, 0
        elif kind < 0.6:
            count, milli = 1, rng.choice((200, 300, 450, 600, 800))
        else:
            count, milli = rng.choice((1, 1, 2, 3)), FULL
        models = [rng.choice(("A", "B"))] if count and rng.random() < 0.25 else []
        pods.append(pod(rng.choice((1000, 2000, 3000)), rng.choice((2048, 4096, 8192)), count, milli, models, 0))
        pods[-1][5] = rng.randint(0, 2)
    return nodes, pods


def replay(nodes: list, pods: list, assignment: list) -> Cluster:
    """The assignment placed on a fresh cluster, each decision checked by the cluster's own rules."""
    assert len(assignment) == len(pods)
    state = Cluster(nodes, pods)
    for p, decision in enumerate(assignment):
        if decision is not None:
            node, gpus = decision
            assert state.fit_error(p, node, tuple(gpus)) == "", (p, decision)
            state.place(p, node, tuple(gpus))
    return state


def check(nodes: list, pods: list, solution: exact.Solution) -> None:
    state = replay(nodes, pods, solution.assignment)
    assert solution.placed == tuple(sum(1 for p in state.where if pods[p][5] == k) for k in range(3))
    assert solution.gpu_allocated == sum(pods[p][2] * pods[p][3] for p in state.where)
    assert solution.bound[::-1] >= solution.placed[::-1]
    assert solution.status in ("optimal", "feasible")


@pytest.fixture(params=["patterns", "per-gpu"])
def gpu_modelling(request, monkeypatch):
    """Both ways of modelling a node's GPUs: by maximal patterns, and GPU by GPU (the fallback)."""
    if request.param == "per-gpu":
        monkeypatch.setattr(formulation, "_patterns", lambda caps, limit=400: None)
    return request.param


def test_the_optimum_of_tiny_instances_is_the_brute_forces(gpu_modelling):
    rng = random.Random(7)
    for _ in range(25):
        nodes, pods = random_instance(rng)
        solution = exact.solve(nodes, pods, LIMIT)
        check(nodes, pods, solution)
        assert solution.status == "optimal"
        assert solution.placed == solution.bound == brute_force(nodes, pods), (nodes, pods)


def test_one_high_pod_outweighs_any_number_of_low_ones(gpu_modelling):
    nodes = [[8000, 16384, 1, "T4"]]
    # the high pod needs the whole GPU, each low pod half of it, or a fifth
    for lows in ([pod(milli=500), pod(milli=500)], [pod(milli=200)] * 5):
        pods = [*lows, pod(num_gpu=1, milli=FULL, priority=2)]
        solution = exact.solve(nodes, pods, LIMIT)
        check(nodes, pods, solution)
        assert solution.placed == (0, 0, 1) and solution.status == "optimal"
    # the same trade by CPU alone: one mid pod is worth more than three low ones
    pods = [pod(cpu=3000, num_gpu=0, milli=0)] * 3 + [pod(cpu=8000, num_gpu=0, milli=0, priority=1)]
    solution = exact.solve([[9000, 16384, 0, ""]], pods, LIMIT)
    assert solution.placed == (0, 1, 0)
    # lexicographic, not by numbers: two high, then as many mid as still fit, then low
    nodes = [[8000, 16384, 2, "T4"]]
    pods = [pod(milli=600, priority=1)] * 2 + [pod(milli=400)] * 3 + [pod(milli=FULL, priority=2)]
    solution = exact.solve(nodes, pods, LIMIT)
    assert solution.placed == (1, 1, 1)


def test_the_placement_keeps_the_clusters_rules(gpu_modelling):
    nodes = [[16000, 32768, 3, "T4"], [16000, 32768, 4, "V100"], [8000, 8192, 0, ""]]
    pods = [
        pod(num_gpu=2, milli=FULL, priority=2),  # two idle GPUs of one node: only the T4 node is left with them
        pod(num_gpu=3, milli=FULL, models=["V100"], priority=2),
        pod(milli=700, models=["T4"], priority=1),  # the T4 node's last GPU
        pod(milli=300, models=["T4"]),  # one of these two shares it, the other stays pending
        pod(milli=300, models=["T4"]),
        pod(cpu=8000, mem=8192, num_gpu=0, milli=0),  # CPU only: takes no GPU
        pod(cpu=9000, num_gpu=0, milli=0),  # too much CPU for the CPU-only node
    ]
    solution = exact.solve(nodes, pods, LIMIT)
    check(nodes, pods, solution)
    assert solution.status == "optimal" and solution.placed == (3, 1, 2) == brute_force(nodes, pods)
    where = solution.assignment
    assert where[1][0] == 1 and len(set(where[1][1])) == 3
    assert where[0][0] == 0 and len(set(where[0][1])) == 2
    assert where[2][0] == 0 and where[2][1][0] not in where[0][1]
    assert sorted([where[3], where[4]], key=str) == [None, where[2]]  # shares the mid pod's GPU
    assert where[5][1] == [] and where[6][1] == [] and where[6][0] != 2
    assert exact.solve(nodes, pods, LIMIT, workers=2).placed == (3, 1, 2)


def test_pod_shapes_the_cluster_does_not_know_are_refused():
    for shape in ((2, 500), (0, 300), (1, 0), (1, 1200)):
        with pytest.raises(ValueError, match="pod 1 asks for"):
            exact.solve([[8000, 16384, 2, "T4"]], [pod(), pod(num_gpu=shape[0], milli=shape[1])], LIMIT)


def test_pods_that_fit_nowhere_stay_pending_and_do_not_count_in_the_bound():
    nodes = [[4000, 8192, 1, "T4"]]
    pods = [pod(cpu=5000, priority=2), pod(models=["A100"], priority=1), pod(num_gpu=2, milli=FULL), pod(milli=400)]
    solution = exact.solve(nodes, pods, LIMIT)
    assert solution.assignment[:3] == [None, None, None] and solution.assignment[3] == [0, [0]]
    assert solution.placed == solution.bound == (1, 0, 0)


def test_a_hint_is_taken_as_the_start_and_a_wrong_one_is_refused(gpu_modelling):
    nodes = [[32000, 65536, 4, "T4"], [32000, 65536, 4, "T4"], [16000, 32768, 0, ""]]
    shares = [(100, 0), (250, 1), (400, 2), (550, 0), (700, 1), (850, 2), (250, 0), (400, 1)]
    pods = [pod(milli=m, priority=k) for m, k in shares]
    pods += [pod(num_gpu=2, milli=FULL, priority=2), pod(cpu=4000, num_gpu=0, milli=0)]
    hint = [[1, [3]], [1, [2]], None, [0, [1]], None, [0, [0]], [1, [2]], None, [1, [0, 1]], [2, []]]
    solution = exact.solve(nodes, pods, 0.0, hint=hint)  # no time to search: the hint is the solution
    check(nodes, pods, solution)
    assert solution.placed[::-1] >= (2, 1, 4)  # the hint's: high, mid, low
    solution = exact.solve(nodes, pods, LIMIT, hint=hint)
    check(nodes, pods, solution)
    assert solution.status == "optimal" and solution.placed == (4, 3, 3)
    hint[7] = [0, [0]]  # beside the 850 one
    with pytest.raises(ValueError, match="pod 7 does not fit: GPU 0 of node 0 has 150 milli-GPU free, the pod needs"):
        exact.solve(nodes, pods, LIMIT, hint=hint)
    with pytest.raises(ValueError, match="one decision per pod"):
        exact.solve(nodes, pods, LIMIT, hint=hint[:-1])


def test_the_bound_decodes_lexicographically():
    counts = (3, 2, 4)  # low, mid, high
    assert exact.weights(counts) == [1, 4, 12]
    assert exact.decode_bound(4 * 12 + 2 * 4 + 3, counts) == (3, 2, 4)  # everything
    assert exact.decode_bound(10**6, counts) == (3, 2, 4)  # capped by the counts
    assert exact.decode_bound(58, counts) == (2, 2, 4)
    assert exact.decode_bound(50, counts) == (2, 0, 4)
    assert exact.decode_bound(47, counts) == (3, 2, 3)  # 3 high and all below weigh less than 4 high
    assert exact.decode_bound(0, counts) == (0, 0, 0)
    assert exact.decode_bound(5, (0, 0, 7)) == (0, 0, 5)  # weights 1, 1, 1 when nothing lies below


def ninety_pods() -> tuple[list, list]:
    """90 GPU pods of three priorities on 10 nodes: optimal in about 0.05 deterministic seconds."""
    rng = random.Random(3)
    nodes = [[96000, 393216, 8, "G2"] for _ in range(6)] + [[104000, 524288, 2, "T4"] for _ in range(4)]
    pods = []
    for _ in range(90):
        milli = rng.choice((160, 320, 470, 550, 810, FULL, FULL, FULL))
        pods.append(pod(rng.choice((3000, 8000, 12000)), rng.choice((8192, 32768)), 1, milli, (), rng.randint(0, 2)))
    return nodes, pods


def test_a_cut_short_solve_is_feasible_with_a_valid_bound_and_reproducible():
    nodes, pods = ninety_pods()
    first = exact.solve(nodes, pods, 0.3)
    check(nodes, pods, first)
    assert all(b <= sum(1 for p in pods if p[5] == k) for k, b in enumerate(first.bound))
    assert first.deterministic_seconds < 1.0
    again = exact.solve(nodes, pods, 0.3)
    assert (again.assignment, again.bound, again.status) == (first.assignment, first.bound, first.status)


def test_the_greedy_start_is_feasible_and_the_solver_never_does_worse():
    rng = random.Random(11)
    for _ in range(10):
        nodes, pods = random_instance(rng)
        start = exact.greedy(nodes, pods)
        state = replay(nodes, pods, start)
        placed = tuple(sum(1 for p in state.where if pods[p][5] == k) for k in range(3))
        assert exact.solve(nodes, pods, LIMIT).placed[::-1] >= placed[::-1]


def test_a_start_in_the_models_canonical_form_satisfies_the_model(gpu_modelling):
    """Every variable fixed to its hinted value (GPUs reordered by load where modelled one by one), the model is
    still feasible with the start's value: CP-SAT can take the hint up as its first solution."""
    from ortools.sat.python import cp_model

    rng = random.Random(5)
    nodes = [[32000, 65536, 4, "T4"] for _ in range(3)] + [[16000, 32768, 2, "P100"], [16000, 32768, 0, ""]]
    for _ in range(6):
        pods = [
            pod(rng.choice((1000, 3000)), 2048, *rng.choice(((1, 200), (1, 350), (1, 700), (1, FULL), (2, FULL))))
            for _ in range(rng.randint(10, 30))
        ]
        for p in pods:
            p[5] = rng.randint(0, 2)
        start = exact.greedy(nodes, pods)
        placed = tuple(sum(1 for p, d in enumerate(start) if d and pods[p][5] == k) for k in range(3))
        model = formulation.Model(nodes, pods, cp_model.CpModel(), patterns=gpu_modelling == "patterns")
        model.hint(formulation.canonical(model, start))
        solver = cp_model.CpSolver()
        solver.parameters.fix_variables_to_their_hinted_value = True
        solver.parameters.num_workers = 1
        assert solver.solve(model.cp) == cp_model.OPTIMAL
        assert solver.objective_value == sum(w * k for w, k in zip(exact.weights(model.counts), placed))


def test_a_wall_limit_keeps_the_placement_feasible_and_the_bound_valid_wherever_it_stops():
    """Wherever the wall clock stops CP-SAT, the placement replays, lies at or below the optimum, and the bound
    at or above it; with no time at all the start is the answer and nothing is proven."""
    nodes, pods = ninety_pods()
    optimum = exact.solve(nodes, pods, LIMIT)
    assert optimum.status == "optimal"
    start = replay(nodes, pods, exact.greedy(nodes, pods))
    start_placed = tuple(sum(1 for p in start.where if pods[p][5] == k) for k in range(3))
    counts = tuple(sum(1 for p in pods if p[5] == k) for k in range(3))
    for wall in (0.0, 0.02, 0.1, 0.3):
        solution = exact.solve(nodes, pods, math.inf, wall_limit=wall)
        check(nodes, pods, solution)
        assert start_placed[::-1] <= solution.placed[::-1] <= optimum.placed[::-1] <= solution.bound[::-1]
        assert solution.status == "feasible" or solution.placed == solution.bound == optimum.placed
        if wall == 0.0:  # no time left for either phase: the greedy start, with no proven bound
            assert solution.placed == start_placed and solution.bound == counts
            assert solution.deterministic_seconds == 0.0 and solution.status == "feasible"
    hint = optimum.assignment
    solution = exact.solve(nodes, pods, LIMIT, hint=hint, wall_limit=0.0)
    assert solution.assignment == hint and solution.status == "feasible"


def test_a_wall_limit_that_is_not_reached_changes_nothing():
    nodes, pods = ninety_pods()
    for limit in (0.02, LIMIT):
        plain = exact.solve(nodes, pods, limit)
        walled = exact.solve(nodes, pods, limit, wall_limit=600.0)
        assert (walled.assignment, walled.bound, walled.status) == (plain.assignment, plain.bound, plain.status)
        assert walled.deterministic_seconds == plain.deterministic_seconds
