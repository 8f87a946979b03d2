"""The search engine's own cost, and its throughput with a slow model, beside OpenEvolve's on the same footing.

Usage: python benchmarks/bench_engine.py [--programs 10000] [--batch 4] [--repeats 2] [--no-openevolve]

Measured, in one run:
1. Engine: the loop on the tardiness seed with a mutator that sets one statement of its parent's block to a
   fresh number (every child new code of the same size) and an in-process evaluator that scores a program from
   its code's hash (no sandbox, no problem code), so that an iteration's wall time is the engine's own (parent
   selection, the frontier, deduplication, the archive's commit). Reported: the median and mean iteration, and
   per program (an iteration makes ``batch`` children), in windows of 50 iterations once the archive holds
   about 100, 1,000 and 10,000 programs, and the ratio of the last median to the first. The run is repeated
   ``repeats`` times and each mark keeps its lowest median (and that run's mean): the marks are measured
   seconds apart, and on a shared machine a busy spell at one mark would otherwise pass for growth. The
   measures of 2 and 3 are repeated likewise, each keeping its best run (every run is printed).
2. The LLM path: the same, with the ``llm`` mutator asking a scripted OpenAI-compatible server on 127.0.0.1
   (in a process of its own) that answers at once, over HTTP: milliseconds per proposal near 100 programs,
   through the default transport (the openai SDK, for an ``openai/`` model at an ``api_base``) and through
   litellm (``llm_transport = "litellm"``).
3. Throughput: the model answers after 0.2 s, an evaluation takes 0.2 s on one of 2 workers, default settings
   otherwise (4 proposals per iteration, 2 calls and 2 iterations in flight): milliseconds per proposal; and
   the same with ``pipeline_depth = 1`` (no iteration starts before the one before it is committed).
4. OpenEvolve (``openevolve_side.py``: the current release, installed into its own environment) on 1 and 3.
Clocks start after imports and the first iterations, on both sides.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import openevolve_side  # noqa: E402
from fake_openai import FakeOpenAI, delay, ok  # noqa: E402

from evaluators.evaluator import EvaluationResult  # noqa: E402
from evolve.archive.store import Archive, sqlite_url  # noqa: E402
from evolve.config import RunConfig  # noqa: E402
from evolve.llm.ledger import LLMLedger  # noqa: E402
from evolve.mutator import Candidate, MutationContext  # noqa: E402
from evolve.mutators.registry import build_mutators  # noqa: E402
from evolve.search.loop import Loop  # noqa: E402
from problems import registry  # noqa: E402

MARKS = (100, 1_000, 10_000)
WINDOW = 50


class InstantEvaluator:
    """Scores a program in this process from its code's hash; a train evaluation first sleeps ``seconds`` on one
    of ``workers`` (a pool of that size)."""

    def __init__(self, problem, seconds: float = 0.0, workers: int = 1):
        self.problem, self.seconds = problem, seconds
        self._workers = threading.Semaphore(workers)

    def instances(self, split: str) -> list:
        return []

    def evaluate_many(self, codes, split: str) -> list[EvaluationResult]:
        return [self._judge(code, split) for code in codes]

    def cascade_many(self, codes, splits) -> list[list[EvaluationResult]]:
        return [[self._judge(code, split) for split in splits if split != "stress"] for code in codes]

    def _judge(self, code: str, split: str) -> EvaluationResult:
        if self.seconds and split == "train":
            with self._workers:
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


def _run(config: RunConfig, evaluator, mutators: dict, folder: Path, ledger=None) -> list[float]:
    """Runs the loop; the wall time at each committed iteration, from the loop's start."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = Archive(sqlite_url(folder))
    run_id = archive.create_run("tardiness", config.to_dict(), config.seed)
    stamps: list[float] = []
    started = [0.0]

    def stamp(_iteration: int) -> None:
        stamps.append(time.perf_counter() - started[0])

    loop = Loop(config, evaluator, archive, run_id, mutators, folder, lambda _: None, ledger, (), stamp)
    started[0] = time.perf_counter()
    loop.run()
    return stamps


def engine_times(programs: int, batch: int, folder: Path) -> dict[int, tuple[float, float]]:
    """Median and mean engine milliseconds per iteration near each mark of ``MARKS`` up to ``programs``."""
    config = RunConfig(
        iterations=programs // batch + WINDOW, batch_size=batch, workers=1, mutators={"edit": 1.0},
        objectives=("gap",), baselines_in_population=False,
    )  # fmt: skip
    stamps = _run(config, InstantEvaluator(registry.load("tardiness")), {"edit": DistinctEdit()}, folder)
    steps = [b - a for a, b in zip([0.0, *stamps], stamps)]
    result = {}
    for mark in (m for m in MARKS if m <= programs):
        window = [seconds for iteration, seconds in enumerate(steps, 1) if 1 + batch * iteration >= mark][:WINDOW]
        result[mark] = (1000 * statistics.median(window), 1000 * statistics.mean(window))
    return result


class Rewrites:
    """The scripted model: every answer is the seed's block with a fresh look-ahead, after ``latency`` seconds."""

    def __init__(self, latency: float):
        self.latency, self.count = latency, 0
        seed = (ROOT / "seeds" / "tardiness" / "seed.py").read_text()
        self.block = seed.split("# EVOLVE-BLOCK-START\n", 1)[1].split("# EVOLVE-BLOCK-END", 1)[0]

    def __call__(self, body) -> object:
        self.count += 1  # FakeOpenAI calls its responder under a lock
        block = self.block.replace("look_ahead = 8.0", f"look_ahead = {1 + self.count / 1e6!r}")
        return delay(self.latency, ok(f"A new look-ahead.\n```python\n{block}```\n"))


@contextlib.contextmanager
def _served(latency: float) -> Iterator[str]:
    """The scripted model's URL, served from a process of its own (as OpenEvolve's side is, from this one), so
    that its HTTP work is not counted as the engine's."""
    command = [sys.executable, __file__, "--serve", str(latency)]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield server.stdout.readline().strip()
    finally:
        server.stdin.close()  # the server's signal to stop
        server.wait(timeout=30)


def _serve(latency: float) -> None:
    with FakeOpenAI(responder=Rewrites(latency)) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


def llm_proposal_ms(
    proposals: int,
    warmup: int,
    latency: float,
    evaluation: float,
    workers: int,
    batch: int,
    folder: Path,
    depth=2,
    transport: str = "auto",
) -> float:
    """Milliseconds per proposal of the ``llm`` mutator against a scripted model, after ``warmup`` proposals."""
    config = RunConfig(
        iterations=(proposals + warmup) // batch, batch_size=batch, workers=workers, mutators={"llm": 1.0},
        models=("openai/bench",), rewrite_share=1.0, objectives=("gap",), baselines_in_population=False,
        pipeline_depth=depth, llm_transport=transport,
    )  # fmt: skip
    with _served(latency) as base_url:
        config = config.replace(api_base=base_url)
        ledger = LLMLedger(concurrency=config.llm_concurrency)
        problem = registry.load("tardiness")
        (folder / "replies").mkdir(parents=True)
        mutators = build_mutators(config, problem.spec, ledger, Archive(sqlite_url(folder / "replies")))
        stamps = _run(config, InstantEvaluator(problem, evaluation, workers), mutators, folder / "run", ledger)
    skip = warmup // batch
    return 1000 * (stamps[-1] - stamps[skip - 1]) / (batch * (len(stamps) - skip))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=10_000, help="the archive's size at the last mark")
    parser.add_argument("--batch", type=int, default=4, help="children per iteration in the engine measure")
    parser.add_argument("--repeats", type=int, default=2, help="engine runs; each mark keeps its lowest median")
    parser.add_argument("--proposals", type=int, default=60, help="proposals timed in the LLM measures")
    parser.add_argument("--no-openevolve", action="store_true", help="measure adrs only")
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)  # the scripted model's own process
    args = parser.parse_args(argv)
    if args.serve is not None:
        _serve(args.serve)
        return 0
    with tempfile.TemporaryDirectory() as temporary:
        folders = (Path(temporary) / str(n) for n in itertools.count())
        started = time.perf_counter()
        runs = [engine_times(args.programs, args.batch, next(folders)) for _ in range(args.repeats)]
        times = {mark: min(run[mark] for run in runs) for mark in runs[0]}
        engine_seconds = time.perf_counter() - started

        def best(*measure, **options) -> tuple[float, list[float]]:
            measured = [llm_proposal_ms(*measure, next(folders), **options) for _ in range(args.repeats)]
            return min(measured), measured

        llm = best(args.proposals, 100, 0.0, 0.0, 1, args.batch)
        litellm = best(args.proposals, 100, 0.0, 0.0, 1, args.batch, transport="litellm")
        slow = best(args.proposals, 12, 0.2, 0.2, 2, 4)
        barrier = best(args.proposals, 12, 0.2, 0.2, 2, 4, depth=1)
    other = None if args.no_openevolve else openevolve_side.measure((100, 1_000), proposals=args.proposals)
    print(f"adrs: {args.batch} children per iteration; OpenEvolve: 1 (its iteration is one child)\n")
    oe = other["engine"] if other else {}
    print("| programs in the archive | adrs ms per iteration (median / mean of 50) | adrs ms per program | "
          "OpenEvolve ms per iteration = per program (median / mean of 20) |")  # fmt: skip
    print("|---|---|---|---|")
    for mark, (median, mean) in times.items():
        theirs = oe.get(mark) or oe.get(str(mark))
        shown = f"{theirs['median_ms']:.2f} / {theirs['mean_ms']:.2f}" if theirs else "not measured"
        print(f"| {mark:,} | {median:.2f} / {mean:.2f} | {median / args.batch:.2f} | {shown} |")
    marks = list(times)
    if len(marks) > 1:
        ratio = times[marks[-1]][0] / times[marks[0]][0]
        print(f"\nadrs median at {marks[-1]:,} / at {marks[0]:,}: {ratio:.2f}x; {engine_seconds:.0f} s in all")
    shown = lambda measured: f"{measured[0]:.1f} ms (runs: {', '.join(f'{r:.1f}' for r in measured[1])})"  # noqa: E731
    print(f"\nadrs measures below: the best of {args.repeats} runs")
    print(f"llm mutator, model answering at once, ~100 programs, per proposal: {shown(llm)} through the openai SDK, "
          f"{shown(litellm)} through litellm")  # fmt: skip
    theirs = f"; OpenEvolve {other['throughput']['ms_per_proposal']:.0f} ms" if other else ""
    print(f"0.2 s model + 0.2 s evaluation, 2 workers, per proposal: adrs {shown(slow)}{theirs}")
    print(f"(adrs with pipeline_depth = 1, each iteration waiting for the one before: {shown(barrier)})")
    if other:
        print(f"(OpenEvolve {other['openevolve']}, {other['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
