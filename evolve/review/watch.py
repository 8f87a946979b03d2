"""``adrs watch``: a terminal summary of a run that refreshes while the run goes on.

It only reads the archive (SQLite's write-ahead log lets a reader in beside the writing run), so it can be
started, stopped and started again at any time, from another terminal or another machine with ``--db``.
"""

from __future__ import annotations

import time
from typing import TextIO

from evolve.archive.store import ProgramRecord
from evolve.config import RunConfig
from evolve.review import calls, display
from evolve.review.run_view import RunView

BAR_WIDTH = 30
CLEAR = "\x1b[H\x1b[2J"


def bar(done: float, total: float, width: int = BAR_WIDTH) -> str:
    """``[#####-----]  50%``: the share of ``total`` that is done (clipped to 0..100%)."""
    share = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
    filled = round(share * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {share:4.0%}"


def _budgets(config: RunConfig, evaluations: int, wall: float, dollars: float, tokens: int) -> list[str]:
    lines = []
    for name, used, limit, shown in (
        ("evaluations", evaluations, config.max_evaluations, f"{evaluations:,}"),
        ("wall time", wall, config.max_wall_seconds, f"{wall:,.0f} s"),
        ("LLM dollars", dollars, config.max_usd, f"${dollars:.4f}"),
        ("LLM tokens", tokens, config.max_tokens, f"{tokens:,}"),
    ):
        if limit:
            lines.append(f"{name:<12} {bar(used, limit)}  {shown} of {limit:,g}")
        elif used:
            lines.append(f"{name:<12} {shown} (no limit)")
    return lines


def last_failures(programs: list[ProgramRecord], count: int) -> list[list[object]]:
    """Rows (id, iteration, stage, status, first line of feedback) of the ``count`` latest failed programs."""
    rows = []
    for program in reversed(programs):
        if len(rows) >= count:
            break
        failed = next((e for e in program.evaluations.values() if not e.ok), None)
        if failed is not None:
            first = next((line for line in failed.feedback.splitlines() if line.strip()), "")
            rows.append([program.id, program.iteration, failed.split, failed.status, first.strip()[:90]])
    return rows


def summary(run: RunView, failures: int = 5) -> str:
    """What ``adrs watch`` prints: status, progress bars, the frontier and the latest failures."""
    record, config = run.record, run.config
    programs = run.programs()
    failed = sum(1 for p in programs if p.status != "ok")
    lines = [
        f"run {record.id} of {record.problem} in {run.directory}: {record.status}  ({time.strftime('%H:%M:%S')})",
        f"{'iterations':<12} {bar(record.iteration, config.iterations)}  {record.iteration} of {config.iterations}",
        *_budgets(config, record.evaluations, record.wall_seconds, record.dollars, record.tokens),
        f"{len(programs)} programs, {failed} failed",
        "",
        "frontier on train (test scores come when the run ends):",
        display.frontier_table(run.frontier(programs), run.problem.objectives),
    ]
    rows = last_failures(programs, failures)
    if rows:
        lines += ["", "last failures:", display.table(["id", "iteration", "stage", "status", "feedback"], rows)]
    failed_calls = calls.failure_lines(run.llm_calls()) if config.models else []
    if failed_calls:
        lines += ["", "failed model calls:", *(f"  {line}" for line in failed_calls[:failures])]
    return "\n".join(lines)


def watch(run: RunView, every: float, once: bool, failures: int, out: TextIO) -> int:
    """Print the summary every ``every`` seconds until the run is no longer running (or once); Ctrl-C ends it."""
    clear = CLEAR if out.isatty() else ""
    try:
        while True:
            ended = run.record.status != "running"  # read first, so that the last frame shows the end
            text = summary(run, failures)
            out.write(f"{clear}{text}\n" if clear else f"{text}\n\n")
            out.flush()
            if once or ended:
                return 0
            time.sleep(every)
    except KeyboardInterrupt:
        return 0
