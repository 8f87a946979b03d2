"""How much overlapping model calls with evaluations buys, against a loopback model with fixed latency.

Usage: python benchmarks/bench_llm_overlap.py [--latency 0.3] [--proposals 24] [--write docs/benchmarks.md]

A scripted OpenAI-compatible server on 127.0.0.1 answers every call after ``latency`` seconds with a whole
new EVOLVE-BLOCK for the tardiness seed (a distinct constant each time, so every child is really evaluated).
The same number of proposals runs three ways, with 2 sandbox workers: strictly sequential (one proposal per
iteration: call, then evaluate), 4 slots per iteration with one call in flight, and 4 slots with 4 calls in
flight. Reported: proposals per minute of loop time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fake_openai import FakeOpenAI, delay, ok  # noqa: E402

from evolve.archive.store import Archive, sqlite_url  # noqa: E402
from evolve.cli.main import main as adrs  # noqa: E402

BLOCK = (
    "def priority(pj, wj, dj, t, p_mean):\n"
    "    slack = max(dj - pj - t, 0)\n"
    "    return math.log(wj / pj) - slack / ({k} * p_mean)\n"
)


def proposals_per_minute(latency: float, proposals: int, batch: int, concurrency: int, folder: Path) -> float:
    replies = [
        delay(latency, ok(f"Look-ahead {1 + i / 10:g}.\n```python\n{BLOCK.format(k=1 + i / 10)}```\n"))
        for i in range(proposals)
    ]
    config = folder / f"b{batch}c{concurrency}.toml"
    config.write_text(
        "[run]\n"
        f"iterations = {proposals // batch}\nbatch_size = {batch}\nworkers = 2\nllm_concurrency = {concurrency}\n"
        "mutators = { llm = 1.0 }\nrewrite_share = 1.0\n"
    )
    run_dir = folder / f"run-b{batch}c{concurrency}"
    with FakeOpenAI(*replies) as server, contextlib.redirect_stdout(io.StringIO()):
        code = adrs(
            [
                "run",
                "tardiness",
                "--config",
                str(config),
                "--model",
                "openai/bench",
                "--api-base",
                server.base_url,
                "--run-dir",
                str(run_dir),
            ]
        )
    assert code == 0
    run = Archive(sqlite_url(run_dir)).run(1)
    return 60 * proposals / run.wall_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--proposals", type=int, default=24)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        with contextlib.redirect_stdout(io.StringIO()):  # compute the references before anything is timed
            adrs(["eval", "tardiness", str(ROOT / "seeds" / "tardiness" / "seed.py"), "--split", "train"])
        rates = {
            (batch, concurrency): proposals_per_minute(args.latency, args.proposals, batch, concurrency, Path(folder))
            for batch, concurrency in ((1, 1), (4, 1), (4, 4))
        }
    sequential = rates[(1, 1)]
    lines = [
        f"- strictly sequential (1 proposal per iteration): **{sequential:.0f} proposals/min**",
        f"- 4 slots, 1 call in flight: {rates[(4, 1)]:.0f} proposals/min ({rates[(4, 1)] / sequential:.1f}x)",
        f"- 4 slots, 4 calls in flight: **{rates[(4, 4)]:.0f} proposals/min** ({rates[(4, 4)] / sequential:.1f}x)",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        command = f"python benchmarks/bench_llm_overlap.py --latency {args.latency:g} --proposals {args.proposals}"
        with args.write.open("a") as out:
            out.write(
                f"\n## LLM calls overlapping evaluations ({time.strftime('%Y-%m-%d')}, 2 workers, "
                f"{args.latency * 1000:.0f} ms per call)\n\n`{command}`\n\n{text}\n"
            )


if __name__ == "__main__":
    main()
