"""Priority Matters' finding on the trace: CP-SAT as a fallback where Kubernetes' default scheduler leaves pods
pending, within a 1 s and a 10 s window.

Usage: python benchmarks/bench_podpack_priority.py [--sizes 10 25 50 100] [--count 4] [--loads 1.0 1.15]
       [--windows 1 10] [--deterministic 1 10] [--start default|greedy] [--workers 1] [--seed 9000]
       [--configurations]

The paper ("Priority Matters: Optimising Kubernetes Clusters Usage with Constraint-Based Pod Packing",
Christensen, Giallorenzo and Mauro, arXiv 2511.08373, November 2025), as far as its abstract and summaries
(the only parts of it in our search corpora) say: a plug-in to the default scheduler that runs only when some
pods cannot be allocated, and then places the pods with OR-Tools' CP-SAT, priority by priority (the most pods
of the highest priority first), minimising evictions of the pods already running; experiments on
small-to-mid-sized clusters; within a 1 s scheduling window it places more higher-priority pods than the
default scheduler in over 44% of the "realisable allocation scenarios where the default scheduler fails"
(sometimes proving its placement optimal), and certifies the default's placement optimal in over 19%; with a
10 s window it improves in over 73%, still certifying in over 19%; returns diminish as the clusters grow. How
its scenarios were generated (cluster sizes, pods, resources), whether CP-SAT starts from the default's
placement and how many workers it ran were not in the corpora, so they are choices here:

- Scenarios are snapshots built from Alibaba's trace as the splits build them (``instances.build``): ``count``
  clusters per size and load, nodes sampled from the trace's node list, pods drawn from the test pool (pod rows
  whose number is 2 modulo 3) until their GPU requests reach ``load`` x the cluster's GPUs, pending at once in
  queue order (priority, then arrival); seeds ``seed``, ``seed + 1``, ... (deterministic).
- The default scheduler is the ``k8s_default`` baseline (kube-scheduler's default scoring, Open-Gpu-Share's
  GPU choice), run on the queue with both halves of the runner in this process (``play_locally``) and its log
  replayed on ``cluster.Cluster`` (the verifier's rules; ``problem.verify`` is not called, as it would also
  solve each snapshot at the reference's limit). Pods come high priority first, so it never preempts. A
  scenario is kept where it leaves at least one pod pending (every pod fits on some empty node, so each is
  realisable on its own).
- CP-SAT (``exact.solve``: one lexicographic weighted objective rather than one solve per priority; every pod
  may move, with no cost for moving, where the paper minimises evictions) runs within each wall-clock window,
  model building included, with ``--workers`` threads. ``--start default`` (the default) hints it with the
  default's placement, as a fallback starts from the cluster it finds; ``--start greedy`` from the model's own
  greedy start instead (``greedy.py``; 0.7 s on 100 nodes, inside the window). CP-SAT runs alone, as in the
  paper; ``--configurations`` adds the reference's column generation stage (``configurations.py``), which
  proves the large snapshots given minutes but takes most of a short window.
- Per window and size: the scenarios, the share where CP-SAT places lexicographically more than the default
  (high priority first), the share where it proves the default's placement optimal (its optimum equals the
  default's placement), the share it solves to optimality at all, and the mean wall and deterministic
  seconds. ``--deterministic`` adds the same with deterministic limits: independent of the machine and its
  load, where the wall-clock windows are not (run on an idle machine; the figures in the report came from a
  2-core one).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tables import markdown_table  # noqa: E402

from evaluators.lockstep import play_locally  # noqa: E402
from problems import registry  # noqa: E402
from problems.base import Instance, seed_module  # noqa: E402
from problems.podpack import exact, instances, runner  # noqa: E402
from problems.podpack.cluster import PRIORITIES, Cluster  # noqa: E402
from problems.podpack.greedy import assignment_of  # noqa: E402


@dataclass(frozen=True)
class Scenario:
    """A snapshot the default scheduler leaves pods pending on, with its placement."""

    size: int
    load: float
    seed: int
    instance: Instance
    assignment: list  # the default's, ``exact.Solution.assignment``'s format
    placed: tuple[int, ...]  # the default's pods placed per priority (index = priority)


@dataclass(frozen=True)
class Outcome:
    improved: bool  # CP-SAT places lexicographically more than the default
    certified: bool  # CP-SAT proves the default's placement optimal
    optimal: bool
    seconds: float
    deterministic_seconds: float


def scenarios(problem, sizes: list[int], count: int, loads: list[float], seed: int) -> tuple[list[Scenario], int]:
    """The snapshots where the default leaves a pod pending, and how many were built in all."""
    default = seed_module("podpack/k8s_default.py", "bench_priority_k8s_default")
    kept, built = [], 0
    for size in sizes:
        for load in loads:
            for k in range(count):
                group = instances.Group("snapshot", "trace", (size,), 1, load, seed + k)
                instance = instances.build("test", built, group, size, seed + k, problem._generator)
                built += 1
                data = instance.data
                state = Cluster(data["nodes"], data["pods"])
                for pod, decision in enumerate(play_locally(runner, default, data)):
                    state.apply(pod, decision)
                if len(state.where) < len(data["pods"]):
                    placed = _placed(data["pods"], state)
                    assignment = assignment_of(state, len(data["pods"]))
                    kept.append(Scenario(size, load, seed + k, instance, assignment, placed))
    return kept, built


def outcome(scenario: Scenario, wall: float | None, deterministic: float, args: argparse.Namespace) -> Outcome:
    data = scenario.instance.data
    hint = scenario.assignment if args.start == "default" else None
    solution = exact.solve(
        data["nodes"],
        data["pods"],
        deterministic,
        hint=hint,
        workers=args.workers,
        wall_limit=wall,
        configurations=args.configurations,
    )
    optimal = solution.status == "optimal"
    return Outcome(
        improved=solution.placed[::-1] > scenario.placed[::-1],
        certified=optimal and solution.placed == scenario.placed,
        optimal=optimal,
        seconds=solution.seconds,
        deterministic_seconds=solution.deterministic_seconds,
    )


def rows(kept: list[Scenario], results: list[Outcome], sizes: list[int]) -> list[list[str]]:
    table_rows = []
    for size in [*sizes, None]:
        chosen = [r for s, r in zip(kept, results) if size is None or s.size == size]
        if not chosen:
            continue
        table_rows.append(
            [
                "all" if size is None else str(size),
                str(len(chosen)),
                _percent(chosen, "improved"),
                _percent(chosen, "certified"),
                _percent(chosen, "optimal"),
                f"{sum(r.seconds for r in chosen) / len(chosen):.2f}",
                f"{sum(r.deterministic_seconds for r in chosen) / len(chosen):.2f}",
            ]
        )
    return table_rows


HEADERS = ["nodes", "scenarios", "improved %", "default certified optimal %", "optimal %", "wall s", "det s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50, 100], help="cluster sizes (nodes)")
    parser.add_argument("--count", type=int, default=4, help="snapshots per size and load")
    parser.add_argument("--loads", type=float, nargs="+", default=[1.0, 1.15], help="GPU requests / GPUs")
    parser.add_argument("--windows", type=float, nargs="*", default=[1.0, 10.0], help="wall-clock seconds")
    parser.add_argument("--deterministic", type=float, nargs="*", default=[1.0, 10.0], help="deterministic s")
    parser.add_argument("--start", choices=["default", "greedy"], default="default", help="CP-SAT's hint")
    parser.add_argument("--workers", type=int, default=1, help="CP-SAT threads (second phase)")
    parser.add_argument("--seed", type=int, default=9000, help="seed of the first snapshot per size and load")
    parser.add_argument("--configurations", action="store_true", help="with the column generation stage")
    args = parser.parse_args()
    problem = registry.load("podpack")
    started = time.perf_counter()
    kept, built = scenarios(problem, args.sizes, args.count, args.loads, args.seed)
    print(
        f"{len(kept)} of {built} snapshots leave pods pending under k8s_default (sizes {args.sizes}, loads "
        f"{args.loads}, {args.count} each, seeds from {args.seed}); CP-SAT starts from "
        f"{'the default placement' if args.start == 'default' else 'its greedy start'}, {args.workers} worker(s), "
        f"{'with' if args.configurations else 'without'} the configurations stage, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    limits = [(w, math.inf, f"{w:g} s wall") for w in args.windows]
    limits += [(None, d, f"{d:g} deterministic s") for d in args.deterministic]
    for wall, deterministic, label in limits:
        results = [outcome(s, wall, deterministic, args) for s in kept]
        print(f"\nCP-SAT within {label} (load average {os.getloadavg()[0]:.1f})")
        print(markdown_table(HEADERS, rows(kept, results, args.sizes)), flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s in all; load average {os.getloadavg()[0]:.1f} at the end")
    return 0


def _percent(results: list[Outcome], flag: str) -> str:
    return f"{100 * sum(getattr(r, flag) for r in results) / len(results):.0f}"


def _placed(pods: list, state: Cluster) -> tuple[int, ...]:
    return tuple(sum(1 for p in state.where if pods[p][5] == k) for k in range(PRIORITIES))


if __name__ == "__main__":
    sys.exit(main())
