"""``adrs compare``: runs of one problem side by side, and the mean over seeds of runs that share a setup.

For each run and objective: the best train value, the test value of that same program (test is held out: the
program is chosen on train, so its test score is an honest estimate, where the best test score over many
programs would not be), and the sandbox evaluations and LLM dollars the run had spent when that program was
committed. Runs whose configurations differ only in their seed (and in settings that do not steer the search,
such as the executor) form a group; each group gets the mean and a 95% Student-t interval over its runs.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evolve.review import display
from evolve.review.run_view import RunView
from evolve.wiring import UserError
from problems.base import Objective

# Settings that leave the search itself unchanged; runs differing only in these (and the seed) are replicas.
NOT_STEERING = frozenset(
    {"seed", "report_every", "executor", "ray_address", "api_base", "replay", "unsafe_no_sandbox", "llm_concurrency"}
)
# Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom; above 30 the normal's 1.96.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131)
_T975 += (2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


@dataclass(frozen=True)
class Best:
    """A run's best program on train by one objective, and what reaching it cost.

    Attributes:
        program: its id.
        train: its value on train.
        test: the same program's value on test, None when it was not scored there.
        iteration: the iteration that committed it.
        evaluations: sandbox evaluations the run had spent by then (None for archives without that record).
        dollars: LLM dollars the run had spent by then.
    """

    program: int
    train: float
    test: float | None
    iteration: int
    evaluations: int | None
    dollars: float


@dataclass(frozen=True)
class RunSummary:
    """One run as the comparison sees it.

    Attributes:
        name: the run directory's name.
        problem: the problem's name.
        seed: the run's seed.
        setup: the configuration without the fields that do not steer the search (the group key).
        iterations: iterations done.
        evaluations: sandbox evaluations spent in all.
        dollars: LLM dollars spent in all.
        best: objective name -> its best, absent when no program passed train.
    """

    name: str
    problem: str
    seed: int
    setup: dict[str, Any]
    iterations: int
    evaluations: int
    dollars: float
    best: dict[str, Best]


@dataclass(frozen=True)
class Comparison:
    """Runs, the objectives they are compared on, and the label of each run's group."""

    runs: list[RunSummary]
    objectives: list[Objective]
    labels: list[str]


def interval95(values: Sequence[float]) -> tuple[float, float, float] | None:
    """(mean, low, high) of a Student-t 95% interval of the mean; None for fewer than two values."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    t = _T975[len(values) - 2] if len(values) - 1 <= len(_T975) else 1.96
    half = t * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def summarize(run: RunView) -> RunSummary:
    """The summary of one run as committed now."""
    record, programs = run.record, run.programs()
    spent = {p.iteration: p for p in run.progress()}
    dollars_by_iteration: dict[int, float] = {}
    if not spent:  # an archive older than the progress table: dollars from the calls, evaluations unknown
        for call in run.llm_calls():
            dollars_by_iteration[call.iteration] = dollars_by_iteration.get(call.iteration, 0.0) + call.dollars
    best: dict[str, Best] = {}
    for objective in run.problem.objectives:
        scored = [p for p in programs if p.selectable and p.metrics("train").get(objective.name) is not None]
        if not scored:
            continue
        # The first program to reach the best value: ties go to the earliest, which is what it cost to get there.
        top = min(scored, key=lambda p: (objective.oriented(p.metrics("train")[objective.name]), p.iteration, p.id))
        at = spent.get(top.iteration)
        dollars = at.dollars if at else sum(d for i, d in dollars_by_iteration.items() if i <= top.iteration)
        test = (top.metrics("test") or {}).get(objective.name)
        train = top.metrics("train")[objective.name]
        best[objective.name] = Best(top.id, train, test, top.iteration, at.evaluations if at else None, dollars)
    setup = {k: v for k, v in record.config.items() if k not in NOT_STEERING}
    name = run.directory.resolve().name
    return RunSummary(
        name, record.problem, record.seed, setup, record.iteration, record.evaluations, record.dollars, best
    )


def compare(runs: Sequence[RunView]) -> Comparison:
    """Summaries of ``runs``, which must be of one problem, with a label per run naming what sets its group
    apart from the others (``same setup`` when nothing does)."""
    summaries = [summarize(run) for run in runs]
    problems = sorted({s.problem for s in summaries})
    if len(problems) > 1:
        raise UserError(f"these runs are of different problems ({', '.join(problems)})", "compare runs of one problem")
    keys = sorted({k for s in summaries for k in s.setup})
    differing = [k for k in keys if len({json.dumps(s.setup.get(k), sort_keys=True) for s in summaries}) > 1]
    labels = [", ".join(f"{k}={_short(s.setup.get(k))}" for k in differing) or "same setup" for s in summaries]
    objectives = list(runs[0].problem.objectives) if runs else []
    return Comparison(summaries, objectives, labels)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{v:g}" if isinstance(v, float) else f"{k}:{v}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


def rows(comparison: Comparison) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows: one per run, then per group of two or more runs its mean and 95% interval."""
    headers = ["run", "setup", "seed", "iterations", "evaluations", "dollars"]
    for name in (o.name for o in comparison.objectives):
        headers += [f"best {name} train", f"{name} test (same program)", f"evaluations to {name}", f"dollars to {name}"]
    table: list[list[Any]] = []
    groups: dict[str, list[RunSummary]] = {}
    for summary, label in zip(comparison.runs, comparison.labels):
        groups.setdefault(label, []).append(summary)
        row: list[Any] = [summary.name, label, summary.seed, summary.iterations, summary.evaluations, summary.dollars]
        for name in (o.name for o in comparison.objectives):
            best = summary.best.get(name)
            row += [best.train, best.test, best.evaluations, best.dollars] if best else [None] * 4
        table.append(row)
    for label, members in groups.items():
        if len(members) < 2:
            continue
        row = [f"mean of {len(members)} (95% interval)", label, "", "", "", ""]
        for name in (o.name for o in comparison.objectives):
            bests = [m.best.get(name) for m in members]
            for field in ("train", "test", "evaluations", "dollars"):
                values = [getattr(b, field) for b in bests if b is not None and getattr(b, field) is not None]
                row.append(_interval_cell(values) if len(values) == len(members) else None)
        table.append(row)
    return headers, table


def _interval_cell(values: Sequence[float]) -> str:
    mean, low, high = interval95(values)  # type: ignore[misc]
    return f"{mean:.4g} [{low:.4g}, {high:.4g}]"


def render(comparison: Comparison, form: str = "table") -> str:
    """The comparison as a text table, JSON or CSV."""
    headers, table = rows(comparison)
    if form == "json":
        return json.dumps([dict(zip(headers, row)) for row in table], indent=1)
    if form == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows([["" if v is None else v for v in row] for row in table])
        return out.getvalue().rstrip("\n")
    # Text reads best as one table of runs, then one per objective, each a few columns wide.
    blocks = [display.table(headers[:6], [row[:6] for row in table if row[2] != ""])]  # group rows: no seed
    for index, objective in enumerate(comparison.objectives):
        first = 6 + 4 * index
        columns = ["run", "setup", "best train", "test (same program)", "evaluations to it", "dollars to it"]
        unit = f" [{objective.unit}]" if objective.unit else ""
        title = f"{objective.name}{unit}, {'lower' if objective.direction == 'min' else 'higher'} is better:"
        blocks.append(f"{title}\n" + display.table(columns, [row[:2] + row[first : first + 4] for row in table]))
    return "\n\n".join(blocks)
