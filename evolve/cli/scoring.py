"""The benchmark use of adrs: ``adrs eval`` and ``adrs bench`` score heuristic files on a problem's instances."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from evaluators.evaluator import EvaluationResult
from evolve.review import display
from evolve.wiring import UserError, load_problem, make_evaluator
from problems.base import SPLITS, STRESS, Instance, Problem, ProblemError

# Metrics a problem's GPU verifier adds (``adrs eval/bench --gpu``), shown when present.
GPU_METRICS = ("step_ms", "ideal_step_ms", "step_over_ideal")


def _score_files(
    problem: Problem, files: Sequence[Path], split: str, instances_path: Path | None, workers: int, unsafe: bool
) -> tuple[list[EvaluationResult], list[Instance]]:
    for path in files:
        if not path.is_file():
            raise UserError(f"no such file: {path}", "pass the path of a Python file defining the entry point")
    evaluator = make_evaluator(problem, workers, unsafe)
    try:
        if instances_path is not None:
            try:
                evaluator.use_instances(split, problem.load_instances(instances_path))
            except (ProblemError, OSError) as exc:
                raise UserError(str(exc), _formats_hint(problem)) from None
        references = [problem.bound(i) for i in evaluator.instances(split)]
        kinds = Counter(r.kind for r in references if r is not None)
        words = {"optimum": "optimal", "best-known": "best known", "computed": "best found, not proven"}
        described = ", ".join(f"{count} {words.get(kind, kind)}" for kind, count in sorted(kinds.items())) or "none"
        print(f"{len(references)} {split} instances; references: {described}", flush=True)
        started = time.monotonic()

        def judged(index: int, result: EvaluationResult) -> None:
            # On stderr, so that stdout holds the tables alone; a bench of many programs can take minutes.
            elapsed = time.monotonic() - started
            print(f"{files[index].stem}: {result.status} ({elapsed:.0f} s)", file=sys.stderr, flush=True)

        codes = [p.read_text() for p in files]
        results = evaluator.evaluate_many(codes, split, judged if len(files) > 1 else None)
        return results, evaluator.instances(split)
    finally:
        evaluator.pool.close()


def _formats_hint(problem: Problem) -> str:
    """What ``--instances`` reads for ``problem``: the first paragraph of its ``load_instances`` docstring."""
    described = (type(problem).load_instances.__doc__ or "").split("\n\n")[0]
    if not described or type(problem).load_instances is Problem.load_instances:
        return f"{problem.name} reads no instance files; its own splits are --split smoke, train or test"
    return f"{problem.name} reads: " + " ".join(described.split())


def _split(problem: Problem, args: argparse.Namespace) -> str:
    """The split to score on: ``file`` for ``--instances``, else ``--split``, checked against the problem's."""
    if args.instances:
        return "file"
    known = (*SPLITS, *((STRESS,) if problem.stress_instances() else ()), *problem.extra_splits())
    if args.split not in known:
        raise UserError(f"{problem.name} has no split {args.split!r}", f"choose one of {', '.join(known)}")
    return args.split


def _select_objectives(problem: Problem, args: argparse.Namespace) -> None:
    """``--objectives``: costly objectives the problem measures only when asked."""
    names = [name.strip() for name in args.objectives.split(",") if name.strip()]
    known = [o.name for o in problem.objectives]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UserError(f"{problem.name} has no objective {', '.join(unknown)}", f"choose among {', '.join(known)}")
    problem.select_objectives(names)


def cmd_eval(args: argparse.Namespace) -> int:
    problem = load_problem(args.problem, args.problems_dir or "")
    split = _split(problem, args)
    _select_objectives(problem, args)
    if args.sweep_rate:
        return _sweep_rate(problem, args)
    if args.gpu:
        _use_gpu(problem)
    [result], _ = _score_files(problem, [args.file], split, args.instances, args.workers, args.unsafe_no_sandbox)
    print(f"{args.file} on {problem.name}/{split}: {result.status}")
    if not result.ok:
        print(result.feedback)
        return 1
    print(display.table(["metric", "value"], sorted(result.metrics.items())))
    objectives = [o.name for o in problem.objectives]
    rows = [[group, *[metrics.get(o) for o in objectives]] for group, metrics in result.groups.items()]
    print(display.table(["class", *objectives], rows))
    return 0


def _use_gpu(problem: Problem) -> None:
    """Turn on the problem's GPU verifier, failing early and clearly where it cannot run."""
    from problems.moe.gpu import INSTALL_HINT, GpuBenchConfig, GpuUnavailable, describe

    config = GpuBenchConfig()
    try:
        problem.use_gpu(config)
        print(f"GPU verifier: {describe(config)}", flush=True)
    except ProblemError as exc:
        raise UserError(str(exc), "--gpu is for problems with a GPU verifier, e.g. moe") from None
    except GpuUnavailable as exc:
        raise UserError(str(exc), INSTALL_HINT) from None


def cmd_bench(args: argparse.Namespace) -> int:
    problem = load_problem(args.problem, args.problems_dir or "")
    files = problem.baselines() + [problem.seed_program()]
    split = _split(problem, args)
    _select_objectives(problem, args)
    if args.gpu:
        _use_gpu(problem)
    results, instances = _score_files(problem, files, split, args.instances, args.workers, args.unsafe_no_sandbox)
    by_group = args.by_group or problem.spec.bench_by_group
    groups = sorted({i.group for i in instances}) if by_group else []
    if len(groups) > 1:
        for group in groups:
            members = [i for i in instances if i.group == group]
            print(f"\n{group} ({len(members)} instances)")
            print(_bench_table(problem, files, [r.groups.get(group, {}) for r in results], results, members, split))
        print(f"\nall {len(instances)} instances")
    print(_bench_table(problem, files, [r.metrics for r in results], results, instances, split))
    return 0


def _bench_table(
    problem: Problem,
    files: Sequence[Path],
    metrics: Sequence[dict[str, float]],
    results: Sequence[EvaluationResult],
    instances: Sequence[Instance],
    split: str,
) -> str:
    """The leaderboard: each program's objectives and reported metrics, best first, then the problem's bounds."""
    objectives, reported = list(problem.objectives), list(problem.spec.reported)
    measured = {name for m in metrics for name in m}
    reported += [name for name in GPU_METRICS if name in measured]
    names = [o.name for o in objectives] + reported
    rows = [[f.stem, r.status, *[m.get(name) for name in names]] for f, r, m in zip(files, results, metrics)]
    primary = objectives[0]
    rows.sort(key=lambda row: (row[2] is None, primary.oriented(row[2]) if row[2] is not None else 0))
    bounds = problem.bench_bounds(instances)
    rows += [[name, problem.bound_status(name), *[values.get(n) for n in names]] for name, values in bounds.items()]
    headers = ["program", "status", *display.metric_columns(objectives, (split,)), *reported]
    return display.table(headers, rows)


def _sweep_rate(problem: Problem, args: argparse.Namespace, target: float = 0.9) -> int:
    """The highest arrival rate at which the program keeps ``attainment`` >= ``target`` (DistServe's capacity
    view): rates grow by half until attainment falls below, then bisection between the last two."""
    if not args.file.is_file():
        raise UserError(f"no such file: {args.file}", "pass the path of a Python file defining the entry point")
    evaluator = make_evaluator(problem, args.workers, args.unsafe_no_sandbox)
    try:
        base = problem.load_instances(args.instances) if args.instances else evaluator.instances(args.split)
    except (ProblemError, OSError) as exc:
        evaluator.pool.close()
        raise UserError(str(exc), _formats_hint(problem)) from None
    code = args.file.read_text()
    rows: list[list[object]] = []

    def attainment(rate: float) -> float:
        try:
            instances = problem.instances_at_rate(base, rate)
        except ProblemError as exc:
            raise UserError(str(exc), "--sweep-rate is for problems with arrival rates, e.g. serving") from None
        split = f"rate-{rate:g}"
        evaluator.use_instances(split, instances)
        result = evaluator.evaluate(code, split)
        value = result.metrics.get("attainment", 0.0) if result.ok else 0.0
        rows.append([rate, result.status, result.metrics.get(problem.objectives[0].name), value])
        print(f"rate {rate:.4g}/s: {result.status}, attainment {value:.1%}", flush=True)
        return value

    try:
        low, high = 0.0, args.rate_from
        while attainment(high) >= target and high < args.rate_from * 2**10:
            low, high = high, high * 1.5
        for _ in range(args.bisections):
            middle = (low + high) / 2
            low, high = (middle, high) if attainment(middle) >= target else (low, middle)
    finally:
        evaluator.pool.close()
    rows.sort(key=lambda row: row[0])
    print(display.table(["rate [req/s]", "status", f"{problem.objectives[0].name} {args.split}", "attainment"], rows))
    print(f"capacity: {low:.4g} requests/s with attainment >= {target:.0%}" if low else "no rate reached the target")
    return 0
