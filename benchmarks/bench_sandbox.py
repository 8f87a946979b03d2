"""Sandbox overhead per evaluation and evaluation throughput on the train split.

Usage: python benchmarks/bench_sandbox.py [--repeats 50] [--write docs/benchmarks.md]

Overhead = wall time of one sandboxed evaluation seen by the framework minus the time the candidate itself
spent (measured by the in-sandbox server), for a trivial candidate on one tiny instance, with full isolation
(bubblewrap namespaces, uid drop, rlimits, cleanup of every process). It is compared, in the same run, with
starting a fresh sandbox per evaluation (what a one-process-per-candidate design pays).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.evaluator import Evaluator  # noqa: E402
from evaluators.pool import LocalPool  # noqa: E402
from evaluators.sandbox import SandboxWorker  # noqa: E402
from problems import registry  # noqa: E402

TRIVIAL = "def schedule(p, w, d):\n    return list(range(len(p)))\n"
TINY = [{"p": [1, 2], "w": [1, 1], "d": [1, 2]}]
RUNNER = "problems.tardiness.runner"


def overhead_ms(repeats: int) -> list[float]:
    worker = SandboxWorker(0, preload=(RUNNER,))
    worker.start()
    worker.run(TRIVIAL, RUNNER, "schedule", TINY, 2.0)  # warm-up
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = worker.run(TRIVIAL, RUNNER, "schedule", TINY, 2.0)
        samples.append(1000 * (time.perf_counter() - started - sum(o.seconds for o in result.outcomes)))
    worker.stop()
    return samples


def fresh_sandbox_ms(repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        worker = SandboxWorker(0, preload=(RUNNER,))
        result = worker.run(TRIVIAL, RUNNER, "schedule", TINY, 2.0)
        worker.stop()
        samples.append(1000 * (time.perf_counter() - started - sum(o.seconds for o in result.outcomes)))
    return samples


def train_throughput(programs: int) -> tuple[float, int, int]:
    problem = registry.load("tardiness")
    spec = problem.spec
    workers = os.cpu_count() or 1
    pool = LocalPool(spec.runner, spec.entry_point, spec.seconds_per_instance, workers)
    pool.start()
    evaluator = Evaluator(problem, pool)
    evaluator.prepare(["train"])
    code = problem.seed_program().read_text()
    evaluator.evaluate_many([code] * workers, "train")  # warm-up
    started = time.perf_counter()
    results = evaluator.evaluate_many([code] * programs, "train")
    elapsed = time.perf_counter() - started
    pool.close()
    assert all(r.ok for r in results), results[0].feedback
    return programs / elapsed, len(evaluator.instances("train")), workers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--write", type=Path, help="append the results to this markdown file")
    args = parser.parse_args()
    warm = overhead_ms(args.repeats)
    cold = fresh_sandbox_ms(max(5, args.repeats // 5))
    rate, instances, workers = train_throughput(40)
    lines = [
        f"- sandbox overhead per evaluation, pre-forked server (median of {len(warm)}): "
        f"**{statistics.median(warm):.2f} ms** (p90 {statistics.quantiles(warm, n=10)[-1]:.2f} ms)",
        f"- fresh sandbox per evaluation, same run (median of {len(cold)}): {statistics.median(cold):.1f} ms "
        f"-> the pre-forked server is {statistics.median(cold) / statistics.median(warm):.0f}x cheaper",
        f"- throughput, seed program on the train split ({instances} instances, {workers} workers): "
        f"**{rate:.1f} evaluations/s**",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        stamp = time.strftime("%Y-%m-%d")
        command = f"python benchmarks/bench_sandbox.py --repeats {args.repeats}"
        with args.write.open("a") as out:
            out.write(f"\n### Sandbox ({stamp}, {os.cpu_count()} cores)\n\n`{command}`\n\n{text}\n")


if __name__ == "__main__":
    main()
