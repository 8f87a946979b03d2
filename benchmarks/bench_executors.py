"""Evaluation throughput and per-evaluation overhead: the local pool versus the Ray executor, in one run.

Usage: python benchmarks/bench_executors.py [--programs 80] [--repeats 50] [--workers 2] [--write docs/benchmarks.md]

Both executors run the same sandboxes (one per worker) on the same programs: the problem's seed and baselines,
cycled, on the train split of tardiness. The Ray executor starts a local one-node cluster, as `adrs run
--executor ray` does without --ray-address; the time to start it is reported apart. Overhead is the wall
time of one evaluation of a trivial program on a tiny instance minus the time the program itself took.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from itertools import cycle, islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.evaluator import Evaluator  # noqa: E402
from evaluators.pool import Job, LocalPool, Pool  # noqa: E402
from problems import registry  # noqa: E402

TRIVIAL = "def schedule(p, w, d):\n    return list(range(len(p)))\n"
TINY = [{"p": [1, 2], "w": [1, 1], "d": [1, 2]}]


def measure(pool: Pool, programs: list[str], repeats: int) -> tuple[float, float]:
    """(evaluations per second on train, median overhead in ms of one evaluation)."""
    problem = registry.load("tardiness")
    evaluator = Evaluator(problem, pool)
    evaluator.prepare(["train"])
    evaluator.evaluate_many(programs[: pool.size], "train")  # warm-up
    started = time.perf_counter()
    results = evaluator.evaluate_many(programs, "train")
    rate = len(programs) / (time.perf_counter() - started)
    assert all(r.ok for r in results), next(r.feedback for r in results if not r.ok)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        [result] = pool.map([Job(TRIVIAL, TINY)])
        samples.append(1000 * (time.perf_counter() - started - sum(o.seconds for o in result.outcomes)))
    return rate, statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--programs", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--write", type=Path, help="append the results to this markdown file")
    args = parser.parse_args()
    from evaluators.ray_pool import RayPool

    problem = registry.load("tardiness")
    spec = problem.spec
    files = [problem.seed_program(), *problem.baselines()]
    programs = list(islice(cycle(p.read_text() for p in files), args.programs))
    settings = (spec.runner, spec.entry_point, spec.seconds_per_instance, args.workers)

    figures = {}
    for name in ("local", "ray"):
        started = time.perf_counter()
        pool = LocalPool(*settings) if name == "local" else RayPool(*settings)
        pool.start()
        startup = time.perf_counter() - started
        try:
            figures[name] = (*measure(pool, programs, args.repeats), startup)
        finally:
            pool.close()
    (local_rate, local_ms, local_start), (ray_rate, ray_ms, ray_start) = figures["local"], figures["ray"]
    lines = [
        f"- local pool: **{local_rate:.1f} evaluations/s**, overhead {local_ms:.2f} ms per evaluation (median), "
        f"{local_start:.1f} s to start",
        f"- Ray executor (local one-node cluster): **{ray_rate:.1f} evaluations/s** "
        f"({ray_rate / local_rate:.2f}x the local pool), overhead {ray_ms:.2f} ms per evaluation (median), "
        f"{ray_start:.1f} s to start the cluster and its actors",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        command = f"python benchmarks/bench_executors.py --programs {args.programs} --workers {args.workers}"
        heading = f"### Local pool versus Ray ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)"
        detail = (
            f"{len(programs)} programs (the seed and {len(files) - 1} baselines, cycled) on the train split of "
            f"tardiness, {args.workers} sandboxes in both"
        )
        with args.write.open("a") as out:
            out.write(f"\n{heading}\n\n`{command}`: {detail}.\n\n{text}\n")


if __name__ == "__main__":
    main()
