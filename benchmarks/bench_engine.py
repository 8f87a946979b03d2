"""The search engine's own cost per iteration as the archive grows, with evaluations that cost almost nothing.

Usage: python benchmarks/bench_engine.py [--programs 10000] [--batch 4] [--evaluation-ms 0]

The loop runs on the tardiness seed with a mutator that sets one statement of its parent's block to a fresh
number (every child is new code of the same size) and an in-process evaluator that scores a program from its
code's hash, after sleeping ``evaluation-ms`` (default: not at all; no sandbox, no problem code): an
iteration's wall time is then the engine's own (parent selection, the frontier, deduplication, the archive's
commit). Reported: the median and mean iteration in windows of 20 iterations once the archive holds about 100,
1,000 and 10,000 programs, and the ratio of the last median to the first.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.evaluator import EvaluationResult  # noqa: E402
from evolve.archive.store import Archive, sqlite_url  # noqa: E402
from evolve.config import RunConfig  # noqa: E402
from evolve.mutator import Candidate, MutationContext  # noqa: E402
from evolve.search.loop import Loop  # noqa: E402
from problems import registry  # noqa: E402

MARKS = (100, 1_000, 10_000)
WINDOW = 20


class InstantEvaluator:
    """Scores a program in this process from its code's hash, after sleeping ``seconds`` (if any)."""

    def __init__(self, problem, seconds: float):
        self.problem, self.seconds = problem, seconds

    def instances(self, split: str) -> list:
        return []

    def evaluate_many(self, codes, split: str) -> list[EvaluationResult]:
        return [self._judge(code, split) for code in codes]

    def cascade_many(self, codes, splits) -> list[list[EvaluationResult]]:
        return [[self._judge(code, split) for split in splits if split != "stress"] for code in codes]

    def _judge(self, code: str, split: str) -> EvaluationResult:
        if self.seconds:
            time.sleep(self.seconds)
        draw = int.from_bytes(hashlib.blake2b(f"{split}:{code}".encode(), digest_size=4).digest(), "big")
        return EvaluationResult(split, "ok", {"gap": draw / 2**32, "time_ms": 1.0})


class DistinctEdit:
    """Sets a statement of the parent's block to a fresh number: a new program every time, never a failure."""

    name = "edit"

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()

    def propose(self, context: MutationContext) -> list[Candidate]:
        with self._lock:
            self.count += 1
            number = self.count
        code = context.parent.code
        if "_n = " in code:  # one statement, renumbered: the program does not grow along its lineage
            code = re.sub(r"_n = \d+", f"_n = {number}", code, count=1)
        else:
            code = code.replace("# EVOLVE-BLOCK-END", f"_n = {number}\n# EVOLVE-BLOCK-END", 1)
        return [Candidate(code, self.name, (context.parent.id,), f"edit {number}")]


def engine_times(programs: int, batch: int, evaluation_ms: float, folder: Path) -> dict[int, tuple[float, float]]:
    """Median and mean engine milliseconds per iteration near each mark of ``MARKS`` up to ``programs``."""
    problem = registry.load("tardiness")
    iterations = programs // batch + WINDOW
    config = RunConfig(
        iterations=iterations, batch_size=batch, workers=1, mutators={"edit": 1.0}, objectives=("gap",),
        baselines_in_population=False,
    )  # fmt: skip
    evaluator = InstantEvaluator(problem, evaluation_ms / 1000)
    archive = Archive(sqlite_url(folder))
    run_id = archive.create_run(problem.name, config.to_dict(), config.seed)
    samples: list[tuple[int, float]] = []  # (programs after the iteration, its seconds)
    last = [time.perf_counter()]

    def after(iteration: int) -> None:
        now = time.perf_counter()
        samples.append((1 + batch * iteration, now - last[0]))
        last[0] = now

    mutators = {"edit": DistinctEdit()}
    loop = Loop(config, evaluator, archive, run_id, mutators, folder, lambda _: None, after_iteration=after)
    last[0] = time.perf_counter()
    loop.run()
    result = {}
    for mark in (m for m in MARKS if m <= programs):
        window = [seconds for count, seconds in samples if count >= mark][:WINDOW]
        result[mark] = (1000 * statistics.median(window), 1000 * statistics.mean(window))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--evaluation-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        times = engine_times(args.programs, args.batch, args.evaluation_ms, Path(folder))
        total = time.perf_counter() - started
    print(f"| programs in the archive | engine ms per iteration, median of {WINDOW} | mean of {WINDOW} |")
    print("|---|---|---|")
    for mark, (median, mean) in times.items():
        print(f"| {mark:,} | {median:.2f} | {mean:.2f} |")
    marks = list(times)
    if len(marks) > 1:
        ratio = times[marks[-1]][0] / times[marks[0]][0]
        print(f"\nmedian at {marks[-1]:,} / at {marks[0]:,}: {ratio:.2f}x; {total:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
