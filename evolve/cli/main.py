"""The ``adrs`` command line. User mistakes end in one line with a hint and exit status 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from evaluators.evaluator import Evaluator
from evolve import api
from evolve.archive.store import Archive, sqlite_url
from evolve.cli import catalog, review, running
from evolve.cli.scoring import cmd_bench, cmd_eval
from evolve.config import ConfigError, RunConfig
from evolve.mutators.registry import check_names
from evolve.review import display
from evolve.search import run_lock
from evolve.search.loop import STOP_FILE
from evolve.wiring import RUN_FILE, UserError, full_disk_is_a_user_error, load_problem
from problems.base import Problem

if TYPE_CHECKING:
    pass

LLM_MUTATORS = {"llm": 0.8, "tune": 0.2}


# ---------------------------------------------------------------------------------------------- commands


def _names_a_problem(config_file: Path | None) -> bool:
    """Whether a run's configuration file sets ``problem`` (else the command line must)."""
    try:
        values = tomllib.loads(config_file.read_text()) if config_file else {}
    except (OSError, tomllib.TOMLDecodeError):
        return True  # RunConfig.from_toml reports it
    return "problem" in values.get("run", values)


def cmd_run(args: argparse.Namespace) -> int:
    if args.problem is None and args.replay is None and not _names_a_problem(args.config):
        raise UserError("which problem?", "adrs run PROBLEM (see `adrs problems`), or adrs run --replay RUN_DIR")
    overrides = {
        k: getattr(args, k)
        for k in (
            "seed", "iterations", "max_evaluations", "max_wall_seconds", "workers", "islands", "batch_size",
            "screen_instances", "pipeline_depth",
        )
    }  # fmt: skip
    overrides.update(
        problem=args.problem,
        api_base=args.api_base,
        max_usd=args.max_usd,
        max_tokens=args.max_tokens,
        llm_concurrency=args.llm_concurrency,
        prompts_dir=args.prompts and str(args.prompts),
        models=args.model and tuple(args.model),
        executor=args.executor,
        ray_address=args.ray_address,
        objectives=args.objectives and tuple(name.strip() for name in args.objectives.split(",")),
        report_every=args.report_every,
    )
    if args.unsafe_no_sandbox:
        overrides["unsafe_no_sandbox"] = True
    if args.problems_dir:
        overrides["problems_dir"] = str(args.problems_dir)
    try:
        base = _replayed_config(args.replay, args.problem) if args.replay else RunConfig()
        base = RunConfig.from_toml(args.config) if args.config else base
        if args.model and base.mutators == RunConfig().mutators:
            base = base.replace(mutators=LLM_MUTATORS)  # models given: they write, tune polishes constants
        config = base.replace(**overrides)
        if args.price:
            config = config.replace(prices={**config.prices, **_prices(args.price)})
        check_names(config)
        problem = load_problem(config.problem, config.problems_dir)
        if problem.source is not None and problem.source.origin == "folder":
            # recorded as a name and an absolute folder, so that `adrs resume` finds it from any directory
            config = config.replace(problem=problem.name, problems_dir=str(problem.source.folder.parent))
        config.search_objectives(problem.spec)
    except ConfigError as exc:
        raise UserError(f"invalid configuration: {exc}", "see `adrs run --help` and RunConfig's fields") from None
    running.preflight(config)  # before anything is created: a model that cannot be asked leaves no run behind
    run_dir = args.run_dir or Path("runs") / f"{problem.name}-{time.strftime('%Y%m%d-%H%M%S')}-s{config.seed}"
    args.run_dir = run_dir  # the Python API opens the run it made
    with full_disk_is_a_user_error(run_dir):
        if (run_dir / RUN_FILE).exists():  # refused before sandboxes start; checked again under the lock below
            with run_lock.hold_directory(run_dir):  # a live writer is named rather than its run
                _refuse_a_used(run_dir)
        # First, so that a missing executor leaves no empty run behind.
        evaluator = running.run_evaluator(config, problem)
        if not config.workers:  # recorded, so that the batch follows the pool in hand: a Ray cluster's CPUs too
            config = config.replace(workers=evaluator.pool.size)
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            with run_lock.hold_directory(run_dir):
                return _start_run(args, config, problem, evaluator, run_dir)
        finally:
            evaluator.pool.close()


def _start_run(
    args: argparse.Namespace, config: RunConfig, problem: Problem, evaluator: Evaluator, run_dir: Path
) -> int:
    """Create the run in the archive and run it; the caller holds the run directory's lock."""
    _refuse_a_used(run_dir)
    try:
        archive = Archive(args.db or sqlite_url(run_dir))
    except Exception as exc:  # noqa: BLE001 - a missing driver or an unreachable server is the user's setting
        reason = next(iter(str(getattr(exc, "orig", None) or exc).splitlines()), "")
        raise UserError(f"cannot open the archive: {reason}", "check --db") from None
    run_id = archive.create_run(problem.name, config.to_dict(), config.seed)
    with run_lock.hold_rows(archive, run_id):
        _write_run_file(run_dir, problem, run_id, args.db)
        where = "" if config.executor == "local" else f" on Ray {config.ray_address or '(a local cluster)'}"
        workers = evaluator.pool.size
        print(f"run {run_id} of {problem.name} in {run_dir} (seed {config.seed}, {workers} workers{where})")
        return running.run_loop(config, problem, evaluator, archive, run_id, run_dir)


def _prices(given: list[str]) -> dict[str, list[float]]:
    """``--price MODEL=IN,OUT`` options as the config's ``prices``."""
    prices = {}
    for text in given:
        model, _, pair = text.rpartition("=")
        try:
            rates = [float(part) for part in pair.split(",")]
        except ValueError:
            rates = []
        if not model or len(rates) != 2 or min(rates) < 0:
            raise UserError(
                f"--price {text}: expected MODEL=IN,OUT", "e.g. --price openai/my-model=0.0000003,0.0000012"
            )
        prices[model] = rates
    return prices


def _refuse_a_used(run_dir: Path) -> None:
    if (run_dir / RUN_FILE).exists():
        raise UserError(f"{run_dir} already holds a run", f"use `adrs resume {run_dir}` or another --run-dir")


def _write_run_file(run_dir: Path, problem: Problem, run_id: int, db: str | None) -> None:
    # A URL is kept for `adrs resume` unless it holds a password, which must not land in a file.
    db_line = f"db = {json.dumps(db)}\n" if db and make_url(db).password is None else ""
    source = json.dumps(problem.source.describe() if problem.source else "")  # for people; resume reads the archive
    temporary = run_dir / f"{RUN_FILE}.tmp"
    try:
        temporary.write_text(f'problem = "{problem.name}"\nproblem_source = {source}\nrun_id = {run_id}\n{db_line}')
        os.replace(temporary, run_dir / RUN_FILE)  # a full disk leaves no half-written run.toml behind
    finally:
        temporary.unlink(missing_ok=True)


def _replayed_config(run_dir: Path, problem: str | None) -> RunConfig:
    archive, run_id = running.open_run(run_dir, None)
    recorded = RunConfig.from_dict(archive.run(run_id).config)
    if problem is not None and recorded.problem != problem:
        raise UserError(f"{run_dir} is a run of {recorded.problem}, not {problem}", f"adrs run {recorded.problem} ...")
    return recorded.replace(replay=str(run_dir.resolve()))


def cmd_resume(args: argparse.Namespace) -> int:
    archive, run_id = running.open_run(args.run_dir, args.db)
    with full_disk_is_a_user_error(args.run_dir), run_lock.hold_run(args.run_dir, archive, run_id):
        run = archive.run(run_id)  # read under the lock: a writer that just ended has committed its last iteration
        config = RunConfig.from_dict(run.config).replace(
            iterations=args.iterations,
            executor=args.executor,
            ray_address=args.ray_address,
            report_every=args.report_every,
        )
        if run.iteration >= config.iterations:
            raise UserError(
                f"run {run_id} already did its {config.iterations} iterations", "pass --iterations N to extend it"
            )
        print(f"resuming run {run_id} of {run.problem} after iteration {run.iteration}")
        stop = Path(args.run_dir) / STOP_FILE
        if stop.exists():  # left by the stop that ended the last session; kept, it would end this one at once
            stop.unlink()
            print(f"removed {stop}, left by the stop that ended the run's last session")
        running.preflight(config)
        problem = load_problem(run.problem, config.problems_dir)
        evaluator = running.run_evaluator(config, problem)
        try:
            return running.run_loop(config, problem, evaluator, archive, run_id, args.run_dir)
        finally:
            evaluator.pool.close()


def cmd_frontier(args: argparse.Namespace) -> int:
    view = api.open_run(args.run_dir, args.db)
    run, programs = view.record, view.programs()
    front = view.frontier(programs)
    failed = sum(1 for p in programs if p.status != "ok")
    print(
        f"run {view.run_id} ({run.problem}, {run.status}): {len(programs)} programs ({failed} failed), "
        f"{run.iteration} iterations, {run.evaluations} evaluations, {run.wall_seconds:.0f} s"
        + (f", LLM spend ${run.dollars:.4f} ({run.tokens} tokens)" if run.tokens else "")
    )
    print(display.frontier_table(front, view.problem.objectives))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    view = api.open_run(args.run_dir, args.db)
    programs = {p.id: p for p in view.programs()}
    if args.id not in programs:
        raise UserError(f"no program {args.id} in this run", f"ids run from 1 to {max(programs, default=0)}")
    print(display.show_program(programs[args.id], programs, view.problem.objectives))
    return 0


# ---------------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adrs", description="AI-driven research for systems: evolve heuristics.")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = catalog.add_commands(commands)

    run = commands.add_parser("run", help="start an evolution run")
    run.add_argument("problem", nargs="?", help="the problem, or its folder's path (not needed with --replay)")
    run.add_argument("--config", type=Path, help="TOML file with RunConfig fields (optionally under [run])")
    run.add_argument("--run-dir", type=Path, help="where the run writes (default: runs/PROBLEM-TIME-sSEED)")
    run.add_argument("--db", help="SQLAlchemy URL of the archive (default: SQLite in the run directory)")
    for flag, kind in (
        ("seed", int),
        ("iterations", int),
        ("max-evaluations", int),
        ("max-wall-seconds", float),
        ("workers", int),
        ("islands", int),
        ("batch-size", int),
        ("screen-instances", int),
    ):
        run.add_argument(f"--{flag}", type=kind)
    run.add_argument("--unsafe-no-sandbox", action="store_true", help="run candidates without namespaces")
    run.add_argument("--objectives", help="comma-separated objectives selection uses, primary first (default: all)")
    run.add_argument("--model", action="append", help="litellm model for the llm mutator, NAME[@WEIGHT]; repeatable")
    run.add_argument("--api-base", help="server URL for the models (e.g. a local vLLM or ollama server)")
    run.add_argument("--max-usd", type=float, help="stop once model calls cost this many dollars")
    run.add_argument("--max-tokens", type=int, help="stop once model calls used this many tokens")
    run.add_argument("--price", action="append", help="MODEL=IN,OUT dollars per input and output token; repeatable")
    run.add_argument("--llm-concurrency", type=int, help="model calls in flight at once (default 2)")
    depth = "iterations in flight at once (default 2; 1: each waits for the one before, see docs/llm.md)"
    run.add_argument("--pipeline-depth", type=int, help=depth)
    run.add_argument("--prompts", type=Path, help="folder of prompt templates overriding evolve/llm/prompts")
    run.add_argument(
        "--replay",
        type=Path,
        help="re-run RUN_DIR's configuration answering every model call from its archive, with no network",
    )
    run.set_defaults(handler=cmd_run)

    resume = commands.add_parser("resume", help="continue a stopped or killed run")
    resume.add_argument("run_dir", type=Path)
    resume.add_argument("--iterations", type=int, help="new total number of iterations")
    resume.add_argument("--db")
    for parser_ in (run, resume):
        parser_.add_argument("--executor", choices=("local", "ray"), help="where sandboxes run (default: local)")
        parser_.add_argument("--ray-address", help="a running Ray cluster: HOST:PORT, auto or ray://HOST:PORT")
        parser_.add_argument("--report-every", type=int, help="rewrite RUN_DIR/report.html every N iterations")
    resume.set_defaults(handler=cmd_resume)

    for name, handler, text in (
        ("frontier", cmd_frontier, "the Pareto frontier of a run"),
        ("show", cmd_show, "one program: code, diff to parent, lineage"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("run_dir", type=Path)
        if name == "show":
            sub.add_argument("id", type=int)
        sub.add_argument("--db")
        sub.set_defaults(handler=handler)

    scoring = []
    for name, handler, text in (
        ("eval", cmd_eval, "score a heuristic file on a problem"),
        ("bench", cmd_bench, "leaderboard of a problem's baselines"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("problem", help="the problem, or its folder's path")
        if name == "eval":
            sub.add_argument("file", type=Path)
        sub.add_argument(
            "--split", default="test", help="smoke, train, test (default), stress (robustness set) or a named setting"
        )
        sub.add_argument("--instances", type=Path, help="an instance file in one of the problem's formats")
        if name == "eval":
            sub.add_argument("--sweep-rate", action="store_true", help="find the highest rate with >= 90%% attainment")
            sub.add_argument("--rate-from", type=float, default=1.0, help="first rate of --sweep-rate (req/s)")
            sub.add_argument("--bisections", type=int, default=4, help="bisection steps of --sweep-rate")
        else:
            sub.add_argument("--by-group", action="store_true", help="also a table per instance group")
        sub.add_argument("--objectives", default="", help="costly objectives to measure too, e.g. serving's capacity")
        sub.add_argument("--gpu", action="store_true", help="also time the outputs on a GPU (moe; needs torch)")
        sub.add_argument("--workers", type=int, default=0)
        sub.add_argument("--unsafe-no-sandbox", action="store_true")
        sub.set_defaults(handler=handler)
        scoring.append(sub)
    for parser_ in (listing, run, *scoring):
        parser_.add_argument("--problems-dir", help="a folder of your own problems (one subfolder each)")
    review.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UserError as exc:
        print(f"adrs: error: {exc}" + (f"\n  hint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("adrs: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
