"""jobshop's figures: one rule over the whole test split, locally and through the sandbox, every shipped rule's gap
per size, and CP-SAT's time to optimality.

Usage: python benchmarks/bench_jobshop.py [--part rule|rules|cpsat|all] [--rule NAME] [--limit S] [--count N]

- ``rule``: one rule (``--rule``, default ``mwkr``) over the whole test split with both halves of the runner in
  this process (``play_locally``) and then through the real evaluator (sandbox, lockstep round, verifier): the
  wall time of each against the 5 s target.
- ``rules``: every baseline and the seed, its mean gap to the reference per size of the test split (both
  halves in this process, the verifier's values), with the references' status per size.
- ``cpsat``: CP-SAT (one worker, fixed seed) on ``--count`` fresh 10x10 and 15x15 Taillard instances (seeds
  outside every split) with a limit of ``--limit`` deterministic seconds: wall and deterministic seconds to
  optimality, or its status and gap to its bound when the limit ends first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tables import markdown_table  # noqa: E402

from evaluators.lockstep import play_locally  # noqa: E402
from problems import registry  # noqa: E402
from problems.base import seed_module  # noqa: E402
from problems.jobshop import instances, references, runner  # noqa: E402


def programs(problem) -> list[Path]:
    return [*problem.baselines(), problem.seed_program()]


def part_rule(problem, name: str) -> None:
    from evolve.wiring import make_evaluator

    split = problem.instances("test")
    path = next(p for p in programs(problem) if p.stem == name)
    module = seed_module(f"jobshop/{path.name}", f"bench_{path.stem}")
    operations = sum(len(ops) for i in split for ops in i.data["jobs"])
    start = time.perf_counter()
    logs = [play_locally(runner, module, i.data) for i in split]
    local = time.perf_counter() - start
    assert all(problem.verify(i, log).feasible for i, log in zip(split, logs))
    evaluator = make_evaluator(problem, 1, False)
    try:
        evaluator.instances("test")
        start = time.perf_counter()
        result = evaluator.evaluate(path.read_text(), "test")
        sandboxed = time.perf_counter() - start
    finally:
        evaluator.pool.close()
    rows = [
        ["both halves in this process", f"{local:.2f}", f"{1e6 * local / operations:.0f}", "-"],
        [
            "real evaluator (sandbox, verifier)",
            f"{sandboxed:.2f}",
            f"{result.metrics.get('decision_us', float('nan')):.0f}",
            f"{result.status}, gap {result.metrics.get('gap', float('nan')):.2f} %",
        ],
    ]
    print(f"\n{name} over the test split: {len(split)} instances, {operations} operations (target <= 5 s)")
    print(markdown_table(["how", "seconds", "us per operation", "result"], rows))


def part_rules(problem) -> None:
    split = problem.instances("test")
    groups = sorted({i.group for i in split}, key=lambda g: tuple(int(x) for x in g.split("x")))
    rows = []
    for path in programs(problem):
        module = seed_module(f"jobshop/{path.name}", f"bench_{path.stem}")
        gaps = {g: [] for g in groups}
        for instance in split:
            verdict = problem.verify(instance, play_locally(runner, module, instance.data))
            gaps[instance.group].append(verdict.values["gap"])
        mean = statistics.fmean(g for values in gaps.values() for g in values)
        rows.append([path.stem, *(f"{statistics.fmean(gaps[g]):.1f}" for g in groups), f"{mean:.1f}"])
    rows.sort(key=lambda row: float(row[-1]))
    status = []
    for g in groups:
        members = [i for i in split if i.group == g]
        optimal = sum(references.record(i.data, problem.reference_limit)["status"] == "optimal" for i in members)
        status.append("optimal" if optimal == len(members) else f"{optimal}/{len(members)} optimal, else bound")
    rows.append(["reference", *status, ""])
    print("\nMean gap (%) to the reference per size, test split")
    print(markdown_table(["rule", *groups, "all"], rows))


def part_cpsat(limit: float, count: int) -> None:
    from problems.jobshop import exact

    rows = []
    for n, m in ((10, 10), (15, 15)):
        for k in range(count):
            seed = 90000 + 100 * n + k  # outside every split's seeds
            jobs = instances.generate(n, m, *instances.seeds_of(seed))
            solution = exact.solve(jobs, m, limit)
            gap = 100.0 * (solution.makespan - solution.bound) / solution.bound
            rows.append(
                [
                    f"{n}x{m}",
                    str(seed),
                    solution.status,
                    str(solution.makespan),
                    str(solution.bound),
                    f"{gap:.1f}",
                    f"{solution.deterministic_seconds:.2f}",
                    f"{solution.seconds:.1f}",
                ]
            )
            print(f"  {rows[-1]}", flush=True)
    print(f"\nCP-SAT, one worker, limit {limit:g} deterministic seconds")
    headers = ["size", "seed", "status", "makespan", "bound", "gap %", "det. seconds", "wall seconds"]
    print(markdown_table(headers, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["rule", "rules", "cpsat", "all"], default="all")
    parser.add_argument("--rule", default="mwkr", help="the program timed by --part rule (a file stem)")
    parser.add_argument("--limit", type=float, default=60.0, help="CP-SAT's deterministic seconds per instance")
    parser.add_argument("--count", type=int, default=3, help="instances per size for --part cpsat")
    args = parser.parse_args()
    problem = registry.load("jobshop")
    if args.part in ("rule", "all"):
        part_rule(problem, args.rule)
    if args.part in ("rules", "all"):
        part_rules(problem)
    if args.part in ("cpsat", "all"):
        part_cpsat(args.limit, args.count)


if __name__ == "__main__":
    main()
