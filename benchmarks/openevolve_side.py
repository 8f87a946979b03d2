"""OpenEvolve's engine cost per iteration as its database grows, and its proposals per minute with a slow model.

Usage: python benchmarks/openevolve_side.py [--env DIR] [--marks 100 1000] [--proposals 60] [--json]

The OpenEvolve half of a comparison with bench_engine.py. Run with the project's interpreter, this file makes
(or reuses) a separate virtual environment with ``pip install openevolve``, serves a scripted OpenAI-compatible
model on 127.0.0.1 (tests/fake_openai.py) and runs itself in that environment (``--worker``) to drive
OpenEvolve's controller against it; the worker imports nothing of adrs. Every reply is a SEARCH/REPLACE diff
that sets the statement ``_n = K`` in the parent's EVOLVE block (the tardiness seed) to a fresh K, so every
iteration yields a new child of the same size; the evaluator file scores a program from its code's hash,
after sleeping if asked. OpenEvolve keeps its defaults (logging at INFO, a checkpoint of the whole database
every 100 iterations, 5 islands, MAP-Elites) except: the model's URL; cascade evaluation off, as its
``run_evolution`` API does for an evaluator without stages; ``evaluator.parallel_evaluations`` (its number of
worker processes) as below; and ``database.population_size`` raised to the largest mark when that is above
its default of 1,000, the most programs the database ever holds.

Measured:
1. Engine: no model latency, no sleep in the evaluator, the default single worker process. OpenEvolve makes
   one child per iteration; an iteration's time is the wall time between two children entering the database
   (timed in the controller's process). Reported: the median and mean of the 20 iterations after the database
   first holds each mark's number of programs, and the mean of 100, which takes in one checkpoint.
2. Throughput: the model answers after 0.2 s, the evaluator sleeps 0.2 s, 2 worker processes; milliseconds per
   proposal over 60 children after 10 of warm-up.
Clocks start at the first child: imports, the pool's start and the seed's evaluation are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "tardiness" / "seed.py"
DEFAULT_ENV = Path(tempfile.gettempdir()) / "adrs-bench-openevolve-venv"
DEFAULT_POPULATION = 1_000  # openevolve's DatabaseConfig.population_size
EVALUATOR = """import hashlib
import time


def evaluate(program_path):
    if {seconds!r}:
        time.sleep({seconds!r})
    with open(program_path, "rb") as f:
        draw = int.from_bytes(hashlib.blake2b(f.read(), digest_size=4).digest(), "big")
    return {{"combined_score": draw / 2**32}}
"""
CURRENT_PROGRAM = re.compile(r"# Current Program\n```\w*\n(.*?)\n```", re.S)
STATEMENT = re.compile(r"^_n = \d+$", re.M)


def ensure_env(env: Path, requirement: str = "openevolve") -> tuple[Path, str]:
    """The Python of virtual environment ``env`` with ``requirement`` installed (made if missing), and the
    installed openevolve version."""
    python = env / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('openevolve'))"]
    found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-qq", requirement], check=True)
        found = subprocess.run(probe, capture_output=True, text=True, check=True)
    return python, found.stdout.strip()


class DistinctDiffs:
    """Answers every request, after ``latency`` seconds, with a diff renumbering the current program's ``_n``."""

    def __init__(self, latency: float):
        self.latency, self.count = latency, 0

    def __call__(self, body: Any) -> Any:
        from fake_openai import delay, ok

        self.count += 1  # FakeOpenAI calls its responder under a lock
        current = CURRENT_PROGRAM.search(body["messages"][-1]["content"])
        statement = STATEMENT.search(current.group(1)) if current else None
        if statement:  # one statement, renumbered: programs do not grow along a lineage
            search, replace = statement.group(0), f"_n = {self.count}"
        else:
            search, replace = "# EVOLVE-BLOCK-END", f"_n = {self.count}\n# EVOLVE-BLOCK-END"
        return delay(self.latency, ok(f"Renumbered.\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"))


def drive(python: Path, spec: dict[str, Any], latency: float, timeout: float) -> dict[str, Any]:
    """Run the worker in the OpenEvolve environment against a scripted model; its result and the calls served."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    from fake_openai import FakeOpenAI

    with (
        tempfile.TemporaryDirectory(prefix="openevolve-side-") as folder,
        FakeOpenAI(responder=DistinctDiffs(latency)) as server,
    ):
        spec = {**spec, "base_url": server.base_url, "workdir": folder, "seed": str(SEED)}
        log = Path(folder) / "worker.log"
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}  # a proxy must not catch the loopback model
        command = [str(python), str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
        try:  # the budget is checked per child: if no reply ever made one, only this timeout ends the run
            with log.open("w") as sink:
                code = subprocess.run(
                    command, stdout=sink, stderr=subprocess.STDOUT, env=env, timeout=timeout
                ).returncode
        except subprocess.TimeoutExpired:
            code = "timed out"
        result_file = Path(folder) / "result.json"
        if code or not result_file.exists():
            tail = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"the OpenEvolve worker failed ({code}):\n{tail}")
        result = json.loads(result_file.read_text())
        result["llm_calls"] = len(server.requests)
        return result


def engine_windows(samples: list[list[float]], marks: Sequence[int], window: int, span: int) -> dict[int, Any]:
    """Per mark reached: the median and mean ms of the ``window`` iterations after it, the mean of ``span``."""
    result: dict[int, Any] = {}
    for mark in marks:
        at = next((i for i, (_, size) in enumerate(samples) if size >= mark), None)
        if at is None:
            continue
        gaps = [1000 * (samples[i][0] - samples[i - 1][0]) for i in range(at + 1, min(len(samples), at + 1 + span))]
        if len(gaps) < window:
            continue
        result[mark] = {
            "iterations": at + 1,
            "median_ms": statistics.median(gaps[:window]),
            "mean_ms": statistics.mean(gaps[:window]),
            f"mean_ms_{span}": statistics.mean(gaps) if len(gaps) == span else None,
        }
    return result


def measure(
    programs_marks: Sequence[int] = (100, 1_000),
    *,
    window: int = 20,
    span: int = 100,
    proposals: int = 60,
    warmup: int = 10,
    latency_s: float = 0.2,
    evaluation_s: float = 0.2,
    workers: int = 2,
    budget_s: float = 600.0,
    env: Path | None = None,
    requirement: str = "openevolve",
) -> dict[str, Any]:
    """Measure OpenEvolve (see the module docstring); ``budget_s`` bounds the timed part of the engine run.

    Returns ``{"openevolve": version, "engine": {mark: {"iterations", "median_ms", "mean_ms", "mean_ms_<span>"}},
    "engine_run": {...}, "throughput": {"ms_per_proposal", "proposals_per_minute", ...}, "wall_s"}``; a mark
    not reached within the budget is absent from "engine".
    """
    started = time.perf_counter()
    python, version = ensure_env(env or DEFAULT_ENV, requirement)
    result: dict[str, Any] = {"openevolve": version}
    if programs_marks:
        largest = max(programs_marks)
        spec = {
            "workers": None, "evaluation_s": 0.0, "until_size": largest, "after": max(window, span) + 1,
            "children": None, "budget_s": budget_s, "population_size": max(largest, DEFAULT_POPULATION),
        }  # fmt: skip
        run = drive(python, spec, 0.0, budget_s + 600)
        samples = run.pop("samples")
        result["engine"] = engine_windows(samples, programs_marks, window, span)
        result["engine_run"] = {**run, "iterations": len(samples), "programs": samples[-1][1] if samples else 0}
    if proposals:
        spec = {
            "workers": workers, "evaluation_s": evaluation_s, "until_size": None, "after": 0,
            "children": warmup + proposals + 1, "budget_s": budget_s, "population_size": None,
        }  # fmt: skip
        run = drive(python, spec, latency_s, budget_s + 600)
        times = [t for t, _ in run.pop("samples")]
        per = 1000 * (times[warmup + proposals] - times[warmup]) / proposals
        result["throughput"] = {
            **run, "ms_per_proposal": per, "proposals_per_minute": 60_000 / per, "proposals": proposals,
            "warmup": warmup, "latency_s": latency_s, "evaluation_s": evaluation_s,
        }  # fmt: skip
    result["wall_s"] = time.perf_counter() - started
    return result


def worker(spec: dict[str, Any]) -> None:
    """Inside the OpenEvolve environment: run its controller and write each child's (time, database size)."""
    import asyncio
    import importlib.metadata

    from openevolve.config import Config
    from openevolve.controller import OpenEvolve
    from openevolve.database import ProgramDatabase

    work = Path(spec["workdir"])
    evaluator, seed = work / "evaluator.py", work / "initial_program.py"
    evaluator.write_text(EVALUATOR.format(seconds=spec["evaluation_s"]))
    seed.write_text(Path(spec["seed"]).read_text())
    raw: dict[str, Any] = {
        "llm": {"api_base": spec["base_url"], "api_key": "unused", "models": [{"name": "scripted"}]},
        "evaluator": {"cascade_evaluation": False},
    }
    if spec["workers"]:
        raw["evaluator"]["parallel_evaluations"] = spec["workers"]
    if spec["population_size"]:
        raw["database"] = {"population_size": spec["population_size"]}
    config = Config.from_dict(raw)  # as from a YAML file: the shared LLM settings reach the model
    config.llm.update_model_params({"system_message": config.prompt.system_message})  # as load_config does
    controller = OpenEvolve(str(seed), str(evaluator), config, output_dir=str(work / "output"))
    samples: list[tuple[float, int]] = []
    reached: list[int] = []  # the index of the first child with the database at ``until_size``
    add = ProgramDatabase.add

    def timed_add(database: Any, program: Any, iteration: Any = None, target_island: Any = None) -> Any:
        admitted = add(database, program, iteration, target_island)
        if iteration is None:  # the seed and the copies migration makes are not children
            return admitted
        now, size = time.perf_counter(), len(database.programs)
        samples.append((now, size))
        if not reached and spec["until_size"] and size >= spec["until_size"]:
            reached.append(len(samples) - 1)
        if (
            now - samples[0][0] > spec["budget_s"]
            or (spec["children"] and len(samples) >= spec["children"])
            or (reached and len(samples) - 1 - reached[0] >= spec["after"])
        ):
            controller.parallel_controller.request_shutdown()
        return admitted

    ProgramDatabase.add = timed_add
    asyncio.run(controller.run(iterations=10**9))
    result = {
        "samples": samples,
        "version": importlib.metadata.version("openevolve"),
        "population_size": config.database.population_size,
        "parallel_evaluations": config.evaluator.parallel_evaluations,
        "checkpoint_interval": config.checkpoint_interval,
        "max_code_chars": max(len(p.code) for p in controller.database.programs.values()),
        "seconds": samples[-1][0] - samples[0][0] if samples else 0.0,
    }
    (work / "result.json").write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=DEFAULT_ENV, help="the OpenEvolve virtual environment")
    parser.add_argument("--requirement", default="openevolve", help="what to pip install there")
    parser.add_argument("--marks", type=int, nargs="*", default=[100, 1_000])
    parser.add_argument("--proposals", type=int, default=60, help="0: skip the throughput run")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds of timed engine run at most")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    figures = measure(
        args.marks, proposals=args.proposals, budget_s=args.budget, env=args.env, requirement=args.requirement
    )
    print(f"OpenEvolve {figures['openevolve']}")
    if "engine" in figures:
        run = figures["engine_run"]
        print("\n| programs in the database | ms per iteration, median of 20 | mean of 20 | mean of 100 | iterations |")
        print("|---|---|---|---|---|")
        for mark, row in figures["engine"].items():
            mean_span = f"{row['mean_ms_100']:.2f}" if row.get("mean_ms_100") is not None else "-"
            print(f"| {mark:,} | {row['median_ms']:.2f} | {row['mean_ms']:.2f} | {mean_span} | {row['iterations']:,} |")
        for mark in (m for m in args.marks if m not in figures["engine"]):
            print(f"| {mark:,} | not reached within {args.budget:.0f} s | | | |")
        print(
            f"\n{run['iterations']:,} iterations ({run['llm_calls']:,} model calls) in {run['seconds']:.0f} s, "
            f"{run['programs']:,} programs at the end (population_size {run['population_size']:,})"
        )
    if "throughput" in figures:
        row = figures["throughput"]
        print(
            f"\n{row['latency_s']} s model + {row['evaluation_s']} s evaluation, {row['parallel_evaluations']} "
            f"workers: {row['ms_per_proposal']:.0f} ms per proposal ({row['proposals_per_minute']:.0f} per minute) "
            f"over {row['proposals']} proposals after {row['warmup']}"
        )
    print(f"\n{figures['wall_s']:.0f} s in all")
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
