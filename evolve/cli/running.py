"""Running a run from the command line: the loop with its models' ledger, then the summary and the verdict."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from evaluators.evaluator import Evaluator
from evolve import api
from evolve.archive.store import Archive
from evolve.cli.progress_bar import ProgressBar
from evolve.config import RunConfig
from evolve.llm import preflight as checks
from evolve.llm.bandit import ModelBandit
from evolve.llm.ledger import LLMLedger
from evolve.llm.roster import Roster
from evolve.mutators.llm import ModelChoice
from evolve.mutators.registry import build_mutators
from evolve.review import calls, display, verdict
from evolve.review.report import yardsticks
from evolve.search.loop import Loop
from evolve.search.population import SeedFailed
from evolve.wiring import UserError, make_evaluator
from problems.base import Problem

if TYPE_CHECKING:
    from evolve.review.report.page import LiveReport


def open_run(run_dir: Path, db: str | None) -> tuple[Archive, int]:
    view = api.open_run(run_dir, db)
    return view.archive, view.run_id


def run_evaluator(config: RunConfig, problem: Problem) -> Evaluator:
    problem.select_objectives([o.name for o in config.search_objectives(problem.spec)])
    return make_evaluator(problem, config.workers, config.unsafe_no_sandbox, config.executor, config.ray_address)


def run_loop(
    config: RunConfig, problem: Problem, evaluator: Evaluator, archive: Archive, run_id: int, run_dir: Path
) -> int:
    """Runs the loop; the caller closes ``evaluator``."""
    try:
        print(f"preparing references of {problem.name} (computed once, then cached)", flush=True)
        evaluator.prepare(("smoke", "train", "test"))
        ledger = _ledger(config)
        bandit = ledger.bandit
        replies, replayed = archive, []
        if config.replay:  # answers, and measured times, come from the replayed run
            replies, replayed_id = open_run(Path(config.replay), None)
            replayed = replies.programs(replayed_id)
        mutators = build_mutators(config, problem.spec, ledger, replies)
        bar = ProgressBar()
        live = _live_report(config, archive, run_id, run_dir, evaluator)
        loop = Loop(
            config, evaluator, archive, run_id, mutators, run_dir, bar.report, ledger, replayed, live, bar.progress
        )
        try:
            outcome = loop.run()
        finally:
            bar.close()
        if live is not None:
            live.write()  # the run's last word: test scores in, no more reloading
    except SeedFailed as exc:
        raise UserError(str(exc), "fix the seed program of the problem") from None
    run = archive.run(run_id)
    model_calls = archive.llm_calls(run_id) if config.models else []
    spend = ""
    if run.tokens:
        # A replay's replies count at their recorded cost (so that it makes the run's budget decisions) but cost
        # nothing: what was paid is the uncached calls'.
        paid = sum(call.dollars for call in model_calls if not call.cached)
        recorded = f" (replayed replies recorded at ${run.dollars:.4f})" if paid != run.dollars else ""
        spend = f" LLM spend ${paid:.4f}{recorded}, {run.tokens} tokens; {loop.time_report()}."
    print(f"\nrun {outcome.status}: {outcome.reason}.{spend} Frontier on train (test held out):")
    print(display.frontier_table(loop.frontier(), problem.objectives))
    if bandit is not None:
        print("models (bandit on frontier improvement per dollar):")
        print(display.table(["model", "calls", "frontier hits", "dollars", "hits per dollar"], bandit.summary()))
    failed_calls = calls.failure_lines(model_calls)
    if failed_calls:
        print("failed model calls, by model and kind (the report lists each call):")
        print("\n".join(f"  {line}" for line in failed_calls))
    seeds = [p for p in loop.programs.values() if p.mutator == "seed"]
    print("for comparison, the seed program:\n" + display.frontier_table(seeds, problem.objectives).split("\n", 2)[2])
    if outcome.reason == "interrupted":  # the user wants out: scoring the baselines can take minutes
        print(f"\nverdict skipped (interrupted): `adrs report {run_dir}` scores the baselines and gives it")
    else:
        _print_verdict(loop, problem, evaluator, run_dir)
    print(f"\nrun directory: {run_dir}")
    print(f"  adrs report {run_dir}     the HTML report: frontier, lineage, code and diffs, plots")
    print(f"  adrs show {run_dir} ID    one program; adrs resume {run_dir} to go on")
    return 1 if outcome.status == "failed" else 0


def preflight(config: RunConfig) -> None:
    """Refuses, in one line, a run whose models cannot be asked (``evolve/llm/preflight.py``)."""
    if not config.models or config.replay or not config.mutators.get("llm"):
        return
    models = [ModelChoice.parse(m).name for m in config.models]
    found = checks.problems(models, config.api_base or None, config.prices, config.max_usd, config.llm_transport)
    if found:
        raise UserError("; ".join(found), "fix it and run again; `adrs run --help` lists --model, --api-base, --price")


def _ledger(config: RunConfig) -> LLMLedger:
    """Budgets, the bandit and the roster of the run's models (none of them without models)."""
    choices = [ModelChoice.parse(m) for m in config.models]
    bandit = ModelBandit([m.name for m in choices]) if choices and config.model_selection == "bandit" else None
    weights = {m.name: m.weight for m in choices}
    roster = Roster(weights, config.llm_failures_to_drop) if choices else None
    concurrency = config.llm_concurrency
    return LLMLedger(config.max_usd, config.max_tokens, bandit=bandit, concurrency=concurrency, roster=roster)


def _print_verdict(loop: Loop, problem: Problem, evaluator: Evaluator, run_dir: Path) -> None:
    """Whether the run beat the problem's best baselines: the run's own figures for those it started from, the
    others scored now on its train and test instances (cached in the run directory, where the report finds them)."""
    if not loop.config.baselines_in_population:
        print("\nscoring the problem's baselines on the run's train and test instances...", flush=True)
    source = lambda: contextlib.nullcontext(evaluator)  # noqa: E731
    yard = yardsticks.yardsticks(problem, run_dir, source, loop.programs.values(), bounds_too=False)
    print("verdict against the best baseline, on train (selected on) and test (held out):")
    for line in verdict.verdict_lines(loop.frontier(), loop.objectives, yard.baselines):
        print("  " + line)


def _live_report(
    config: RunConfig, archive: Archive, run_id: int, run_dir: Path, evaluator: Evaluator
) -> LiveReport | None:
    """The hook of ``--report-every N``, or None."""
    if not config.report_every:
        return None
    from evolve.review.report.page import LiveReport  # deferred: plotly is only needed for a report
    from evolve.review.run_view import RunView

    return LiveReport(RunView(run_dir, archive, run_id), config.report_every, evaluator)
