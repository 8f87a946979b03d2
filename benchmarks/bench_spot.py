"""Speed and fidelity of the `spot` problem on the literature's 1,080-scenario grid.

Usage: python benchmarks/bench_spot.py [--write docs/benchmarks.md]

Targets: scoring one policy on the full grid in <= 2 s, and the omniscient optimum of the grid in <= 30 s.
Scoring is timed in-process (the engine calling Uniform Progress, then the verifier's replay) and end to end
through one sandbox (``Evaluator.evaluate``, what a candidate costs the loop); the optimum is timed without the
on-disk cache. Fidelity: the baselines' mean costs beside the published ones (docs/spot.md). Needs the
SkyPilot traces in ../shared/data/spot-traces (or $ADRS_SPOT_TRACES).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from problems.base import seeds_dir  # noqa: E402
from problems.spot.exact import optimum_costs  # noqa: E402
from problems.spot.grid import LITERATURE_ENVIRONMENTS, LITERATURE_STARTS, Grid, TraceSource, expand  # noqa: E402
from problems.spot.sim import Scenario, replay, simulate  # noqa: E402
from problems.spot.traces import traces_dir  # noqa: E402

CELLS = [(52, 0.02), (52, 0.2), (52, 0.4), (70, 0.02), (70, 0.2), (70, 0.4), (92, 0.02), (92, 0.2), (92, 0.4)]
# The literature's figures (../shared/data/README.md): mean, cells in the order of CELLS (None: not published),
# late finishes of that simulator.
PUBLISHED = {
    "on-demand": (147.90, [147.39, 147.90, 148.41] * 3, 0),
    "greedy": (96.52, [None] * 9, None),
    "Uniform Progress": (94.68, [87.37, 110.75, 122.38, 78.99, 91.77, 100.97, 74.00, 87.32, 98.55], 21),
}


def baseline(name: str):
    path = seeds_dir() / "spot" / f"{name}.py"
    module = types.ModuleType(name)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


def cell_means(scenarios: list[Scenario], costs: list[float]) -> list[float]:
    sums: dict[tuple[float, float], list[float]] = {}
    for sc, cost in zip(scenarios, costs):
        sums.setdefault((sc.deadline / 3600, round(sc.overhead / 3600, 4)), []).append(cost)
    return [sum(sums[cell]) / len(sums[cell]) for cell in CELLS]


def sandboxed_seconds(split_instances, code: str, workers: int = 1) -> float:
    """Wall time of one evaluation through a real sandbox (pool already started)."""
    from evaluators.evaluator import Evaluator
    from evolve.wiring import make_evaluator
    from problems.registry import load

    problem = load("spot")
    evaluator: Evaluator = make_evaluator(problem, workers, unsafe=False)
    try:
        evaluator.use_instances("grid", split_instances)
        evaluator.evaluate(code, "grid")  # warm: the server's first fork and imports
        started = time.perf_counter()
        result = evaluator.evaluate(code, "grid")
        assert result.ok, result.feedback
        return time.perf_counter() - started
    finally:
        evaluator.pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path, help="append the results to this markdown file")
    args = parser.parse_args()
    folder = traces_dir()
    if folder is None:
        raise SystemExit("bench_spot: the SkyPilot traces are not in ../shared/data/spot-traces ($ADRS_SPOT_TRACES)")
    started = time.perf_counter()
    grid = Grid(LITERATURE_ENVIRONMENTS, LITERATURE_STARTS, 554, (52.0, 70.0, 92.0), (0.02, 0.2, 0.4))
    cells = expand(grid, TraceSource(folder, {}))
    scenarios = [Scenario.from_data(data) for _, data, _ in cells]
    build_s = time.perf_counter() - started

    up = baseline("uniform_progress")
    started = time.perf_counter()
    outcomes = [simulate(sc, up.decide) for sc in scenarios]
    sim_s = time.perf_counter() - started
    ticks = sum(len(o.log) for o in outcomes)
    started = time.perf_counter()
    replayed = [replay(sc, o.log) for sc, o in zip(scenarios, outcomes)]
    replay_s = time.perf_counter() - started
    assert replayed == outcomes, "replay disagrees with the simulation"

    os.environ["ADRS_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-spot-")  # an empty cache: optima from scratch
    from problems.registry import load

    problem = load("spot")
    instances = problem._with_optima("grid", [(group, data) for group, data, _ in cells])
    started = time.perf_counter()
    verdicts = [problem.verify(i, o.log) for i, o in zip(instances, outcomes)]
    verify_s = time.perf_counter() - started
    assert all(v.feasible for v in verdicts)
    started = time.perf_counter()
    optima = optimum_costs(scenarios)
    dp_s = time.perf_counter() - started
    code = (seeds_dir() / "spot" / "uniform_progress.py").read_text()
    sandbox_s = sandboxed_seconds(instances, code)
    train = problem.instances("train")
    train_s = sandboxed_seconds(train, (seeds_dir() / "spot" / "seed.py").read_text())

    rows = {}
    for name in ("on_demand", "greedy", "uniform_progress", "round_robin_up", "seed"):
        runs = [simulate(sc, baseline(name).decide) for sc in scenarios]
        rows[name] = (cell_means(scenarios, [r.cost for r in runs]), sum(not r.finished for r in runs))
    rows["omniscient optimum"] = (cell_means(scenarios, optima), 0)
    lines = [
        f"- grid: {len(scenarios)} scenarios ({', '.join(e[0] for e in LITERATURE_ENVIRONMENTS)}; 30 windows of "
        f"554 ticks; deadlines 52/70/92 h; changeovers 0.02/0.2/0.4 h), built in {build_s:.2f} s",
        f"- score Uniform Progress on the grid, in-process: simulate **{sim_s:.2f} s** ({ticks:,} policy calls, "
        f"{1e6 * sim_s / ticks:.2f} us per tick) + replay {replay_s:.2f} s; the verifier's whole work "
        f"(replay, on-demand cost, values) {verify_s:.2f} s",
        f"- the same through one sandbox (`Evaluator.evaluate`, 1,080 instances in one job, verifier included): "
        f"**{sandbox_s:.2f} s**",
        f"- one evaluation of the seed on the train split ({len(train)} scenarios) through one sandbox: "
        f"**{train_s:.2f} s**",
        f"- omniscient optimum of the grid (exact DP, no cache): **{dp_s:.2f} s**",
        "",
        "| policy | mean | " + " | ".join(f"{d} h / {o} h" for d, o in CELLS) + " | misses |",
        "|---|---|" + "---|" * len(CELLS) + "---|",
    ]
    for name, (means, misses) in rows.items():
        lines.append(
            f"| {name} | **{sum(means) / len(means):.2f}** | "
            + " | ".join(f"{m:.2f}" for m in means)
            + f" | {misses} |"
        )
    for name, (mean, means, late) in PUBLISHED.items():
        shown = " | ".join("" if m is None else f"{m:.2f}" for m in means)
        lines.append(f"| published {name} | {mean:.2f} | {shown} | {'' if late is None else f'{late} late'} |")
    text = "\n".join(lines)
    print(text)
    if args.write:
        stamp = time.strftime("%Y-%m-%d")
        with args.write.open("a") as out:
            out.write(f"\n### Spot ({stamp}, {os.cpu_count()} cores)\n\n`python benchmarks/bench_spot.py`\n\n{text}\n")


if __name__ == "__main__":
    main()
