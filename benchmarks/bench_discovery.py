"""Does the default offline run discover programs that beat the best shipped baseline on held-out data?

Usage: python benchmarks/bench_discovery.py [--problems tardiness moe spot serving] [--seeds 0 1 2]
           [--max-wall-seconds W] [--runs-dir runs/discovery]

For each problem and seed it runs ``adrs run PROBLEM --seed S --max-wall-seconds W`` (the embedded defaults:
offline mutators, the seed and every baseline in the initial population). W bounds the search; scoring the
frontier and the yardsticks on test comes after it, so W defaults to 900 s, to 840 s for ``spot`` (about a
minute of test scoring) and to 540 s for ``serving`` (about five): every run stays within 15 minutes. Then it reads the
archive: the best baseline on the test split's primary objective, the frontier's best program on train and its
test value, and which mutators made the steps that improved the primary objective along its lineage. It prints
one markdown table: per problem the best baseline, the discovered program's mean and 95% interval over seeds, in
how many seeds it beats the baseline on test, and the operators of the gains. A run directory that already holds
a finished run is read, not run again.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evolve import api  # noqa: E402
from evolve.archive.store import ProgramRecord  # noqa: E402
from evolve.review.compare import interval95  # noqa: E402
from evolve.review.run_view import RunView  # noqa: E402
from evolve.search.population import INITIAL  # noqa: E402


@dataclass(frozen=True)
class Discovery:
    """One seed's outcome on one problem.

    Attributes:
        baseline: name of the best baseline on the test split's primary objective.
        baseline_test: its value.
        program: id of the frontier's best program on train.
        program_test: that program's value on test.
        operators: mutator (and genetic operator) of each step along the program's lineage that improved the
            primary objective on train.
        seconds: the run's wall time.
    """

    baseline: str
    baseline_test: float
    program: int
    program_test: float
    operators: tuple[str, ...]
    seconds: float


def run_once(problem: str, seed: int, wall: float, run_dir: Path) -> None:
    if (run_dir / "run.toml").exists() and api.open_run(run_dir).record.status != "running":
        return
    command = [sys.executable, "-m", "evolve.cli", "run", problem, "--seed", str(seed), "--run-dir", str(run_dir)]
    command += ["--max-wall-seconds", str(wall)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def operator_of(program: ProgramRecord) -> str:
    """The mutator, refined by the genetic operator its note names (``constant: ...``)."""
    if program.mutator == "genetic":
        return f"genetic/{program.note.split(':', 1)[0].split()[0]}"
    return program.mutator


def discovery(run: RunView) -> Discovery:
    primary = run.objectives[0]
    programs = {p.id: p for p in run.programs()}

    def value(program: ProgramRecord, split: str) -> float:
        return primary.oriented(program.metrics(split)[primary.name])

    baselines = [p for p in programs.values() if p.mutator == "baseline" and p.metrics("test") is not None]
    best_baseline = min(baselines, key=lambda p: value(p, "test"))
    best = min(run.frontier(), key=lambda p: (value(p, "train"), p.id))
    operators = []
    for child in run.lineage(best.id):
        if child.mutator in INITIAL:
            break
        parent = programs[child.parent_ids[0]]
        if value(child, "train") < value(parent, "train"):
            operators.append(operator_of(child))
    return Discovery(
        best_baseline.note.removeprefix("baseline "),
        best_baseline.metrics("test")[primary.name],
        best.id,
        best.metrics("test")[primary.name],
        tuple(reversed(operators)),
        run.record.wall_seconds,
    )


def table(results: dict[str, list[Discovery]], directions: dict[str, str]) -> str:
    lines = [
        "| problem | best baseline, test | discovered, test: mean [95% interval] | beats it | seeds: program (test) |"
        " operators of the gains |",
        "|---|---|---|---|---|---|",
    ]
    for problem, found in results.items():
        values = [d.program_test for d in found]
        spread = interval95(values)
        shown = f"{spread[0]:.4g} [{spread[1]:.4g}, {spread[2]:.4g}]" if spread else f"{values[0]:.4g}"
        better = [(d.program_test < d.baseline_test) == (directions[problem] == "min") for d in found]
        better = [b and d.program_test != d.baseline_test for b, d in zip(better, found)]
        per_seed = ", ".join(f"#{d.program} ({d.program_test:.4g})" for d in found)
        operators = Counter(op for d in found for op in d.operators)
        credit = ", ".join(f"{op} {n}" for op, n in operators.most_common()) or "none (a baseline leads)"
        baseline = f"{found[0].baseline} {found[0].baseline_test:.4g}"
        lines.append(f"| {problem} | {baseline} | {shown} | {sum(better)} of {len(found)} | {per_seed} | {credit} |")
    return "\n".join(lines)


# The search's wall time where scoring on test takes minutes (900 s elsewhere).
WALL_SECONDS = {"spot": 840.0, "serving": 540.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["tardiness", "moe", "spot", "serving"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--max-wall-seconds", type=float, help="the search's wall time (default: 900 s, spot 840, serving 540)"
    )
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/discovery"))
    args = parser.parse_args(argv)
    results: dict[str, list[Discovery]] = {}
    directions = {}
    for problem in args.problems:
        for seed in args.seeds:
            run_dir = args.runs_dir / f"{problem}-s{seed}"
            started = time.monotonic()
            run_once(problem, seed, args.max_wall_seconds or WALL_SECONDS.get(problem, 900.0), run_dir)
            run = api.open_run(run_dir)
            found = discovery(run)
            directions[problem] = run.objectives[0].direction
            results.setdefault(problem, []).append(found)
            print(
                f"{problem} seed {seed}: program {found.program} {found.program_test:.4g} on test against "
                f"{found.baseline} {found.baseline_test:.4g} ({time.monotonic() - started:.0f} s here, "
                f"run {found.seconds:.0f} s); gains by {', '.join(found.operators) or 'nothing'}",
                flush=True,
            )
    print()
    print(table(results, directions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
