"""podpack's figures: every shipped policy on the whole trace, one through the sandbox, and CP-SAT on snapshots.

Usage: python benchmarks/bench_podpack.py [--part trace|sandbox|cpsat|all] [--programs NAME ...]

- ``trace``: each shipped program over the whole default trace (8,152 pods in creation order, none leaving) on
  all 1,523 nodes, both halves of the runner in this process (``play_locally``): its wall time, the GPUs left
  unallocated, the allocation rate and the pods left pending per priority. Then the same on the test split's
  full-cluster instance (test-pool pods drawn until their GPU requests equal the cluster's GPUs, FGD's inflated
  workload). This is FGD's ordering (docs/podpack.md, Fidelity).
- ``sandbox``: the seed over the whole trace through the real evaluator (sandbox, lockstep rounds, verifier):
  the wall time of the evaluation against the 10 s target.
- ``cpsat``: the CP-SAT reference (``exact.solve``) on the test split's snapshots of ``--cpsat-sizes`` nodes
  at the reference's deterministic limit (or ``--cpsat-limit``): the wall and deterministic seconds to
  optimality (or its status and bound), and the same for CP-SAT's model alone (no configurations stage).

Needs the trace in ``$ADRS_DATA_DIR/alibaba-gpu-2023`` (default ``../shared/data``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tables import markdown_table  # noqa: E402

from evaluators.lockstep import play_locally  # noqa: E402
from problems import registry  # noqa: E402
from problems.base import Instance, seed_module  # noqa: E402
from problems.podpack import runner  # noqa: E402
from problems.podpack.cluster import FULL  # noqa: E402
from problems.podpack.problem import PRIORITY_NAMES  # noqa: E402


def programs(problem, names: list[str]) -> list[Path]:
    files = [*problem.baselines(), problem.seed_program()]
    return [f for f in files if not names or f.stem in names]


def policy_rows(problem, instance: Instance, files: list[Path]) -> list[list[str]]:
    rows = []
    for path in files:
        module = seed_module(f"podpack/{path.name}", f"bench_{path.stem}")
        start = time.perf_counter()
        log = play_locally(runner, module, instance.data)
        seconds = time.perf_counter() - start
        verdict = problem.verify(instance, log)
        assert verdict.feasible, verdict.reason
        v = verdict.values
        unallocated = (v["gpu_capacity"] - v["gpu_allocated"]) / FULL
        pending = [
            f"{100 * (v[f'total_{p}'] - v[f'placed_{p}']) / max(v[f'total_{p}'], 1):.1f}" for p in reversed(range(3))
        ]
        rate = 100 * v["gpu_allocated"] / v["gpu_capacity"]
        rows.append(
            [
                path.stem,
                f"{seconds:.1f}",
                f"{unallocated:.0f}",
                f"{100 - rate:.2f}",
                f"{rate:.2f}",
                *pending,
                f"{v['preempted']:.0f}",
            ]
        )
    rows.sort(key=lambda row: float(row[2]))
    return rows


def part_trace(problem, names: list[str]) -> None:
    headers = [
        "program",
        "seconds",
        "unallocated GPUs",
        "unallocated %",
        "allocated %",
        *[f"pending {name} %" for name in reversed(PRIORITY_NAMES)],
        "preempted",
    ]
    full = problem.instances("full")[0]
    print(f"\nThe whole trace: {len(full.data['pods'])} pods on {len(full.data['nodes'])} nodes")
    print(markdown_table(headers, policy_rows(problem, full, programs(problem, names))))
    inflated = [i for i in problem.instances("test") if i.group.startswith("arrivals-n1523")]
    for instance in inflated:
        print(f"\nTest's full-cluster instance {instance.id}: {len(instance.data['pods'])} pods")
        print(markdown_table(headers, policy_rows(problem, instance, programs(problem, names))))


def part_sandbox(problem) -> None:
    from evolve.wiring import make_evaluator

    evaluator = make_evaluator(problem, 1, False)
    try:
        code = problem.seed_program().read_text()
        evaluator.instances("full")
        start = time.perf_counter()
        result = evaluator.evaluate(code, "full")
        seconds = time.perf_counter() - start
    finally:
        evaluator.pool.close()
    print(
        f"\nseed through the sandbox on the whole trace: {result.status}, {seconds:.1f} s, "
        f"unallocated {result.metrics.get('unallocated', float('nan')):.2f} %"
    )


def part_cpsat(problem, limit: float, sizes: list[int]) -> None:
    from problems.podpack import exact

    snapshots = [i for i in problem.instances("test") if i.group in {f"snapshot-n{n}" for n in sizes}]
    rows = []
    for instance in snapshots:
        data = instance.data
        for stage, configurations in (("configurations, then CP-SAT", True), ("CP-SAT alone", False)):
            solution = exact.solve(data["nodes"], data["pods"], limit, configurations=configurations)
            rows.append(
                [
                    instance.id,
                    instance.group,
                    str(len(data["pods"])),
                    stage,
                    solution.status,
                    f"{solution.seconds:.1f}",
                    f"{solution.deterministic_seconds:.1f}",
                    " / ".join(map(str, reversed(solution.placed))),
                    " / ".join(map(str, reversed(solution.bound))),
                ]
            )
    print(f"\nCP-SAT on the test split's snapshots (one worker, {limit:g} deterministic s)")
    headers = ["snapshot", "group", "pods", "stages", "status", "wall s", "deterministic s"]
    print(markdown_table([*headers, "placed high / mid / low", "bound high / mid / low"], rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["trace", "sandbox", "cpsat", "all"], default="all")
    parser.add_argument("--programs", nargs="*", default=[], help="program stems (default: all shipped)")
    parser.add_argument("--cpsat-limit", type=float, help="deterministic seconds (default: the reference's limit)")
    parser.add_argument("--cpsat-sizes", type=int, nargs="*", default=[100], help="snapshot sizes (nodes)")
    args = parser.parse_args()
    problem = registry.load("podpack")
    if args.part in ("trace", "all"):
        part_trace(problem, args.programs)
    if args.part in ("sandbox", "all"):
        part_sandbox(problem)
    if args.part in ("cpsat", "all"):
        part_cpsat(problem, args.cpsat_limit or problem.reference_limit, args.cpsat_sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
