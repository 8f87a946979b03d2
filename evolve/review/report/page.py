"""``adrs report``: one self-contained HTML file about a run, readable offline, safe with hostile code.

The file holds plotly.js, the page's own script and stylesheet (``assets/``), the summary tables as
escaped HTML, and the rest of the data as one JSON document in a ``<script type="application/json">`` whose
``<``, ``>`` and ``&`` are written as JSON escapes, so no program text can close the script or open a tag.
The page's script draws the frontier, best-so-far curves and lineage with plotly, and a page per program
(``#program-ID``) from that data, putting candidate text into the page as text nodes only; the single
exception is code lines, which ``highlight`` has escaped and marked up itself.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from evaluators.evaluator import Evaluator
from evolve.archive.models import LLMCall
from evolve.archive.store import ProgramRecord
from evolve.review import calls as call_failures
from evolve.review import verdict
from evolve.review.report import data as report_data
from evolve.review.report import yardsticks
from evolve.review.report.yardsticks import Yardsticks
from evolve.review.run_view import RunView
from evolve.wiring import UserError, make_evaluator
from problems.base import Objective

REPORT_FILE = "report.html"
LIVE_REFRESH_SECONDS = 30


@dataclass(frozen=True)
class WrittenReport:
    """A report on disk.

    Attributes:
        path: where it was written.
        bytes: its size.
        programs: programs it shows.
        seconds: time taken to build and write it (baselines scoring included).
    """

    path: Path
    bytes: int
    programs: int
    seconds: float


def write_report(
    run: RunView,
    path: Path | None = None,
    baselines: bool = True,
    evaluator: Evaluator | None = None,
    live: bool = False,
) -> WrittenReport:
    """Write the report of ``run`` to ``path`` (default ``RUN_DIR/report.html``), replacing it atomically.

    Args:
        run: the run to report on, as committed now.
        path: the HTML file to write.
        baselines: score the problem's baselines where the run directory's cache lacks them (in the
            sandbox, with ``evaluator`` or a pool started for it); False reads only the cache.
        evaluator: an evaluator to borrow for that (the running loop's); it is not closed.
        live: the run is still going: the page reloads itself every 30 s while the run is running.
    """
    started = time.perf_counter()
    path = Path(path) if path is not None else run.directory / REPORT_FILE
    programs = run.programs()
    yard = _yardsticks(run, baselines, evaluator, programs)
    text = render(run, yard, programs, refresh=live and run.record.status == "running")
    data = text.encode("utf-8", "replace")  # a lone surrogate in hostile code must not stop the report
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)  # a browser reloading a live report never reads half a file
    return WrittenReport(path, len(data), len(programs), time.perf_counter() - started)


def _yardsticks(
    run: RunView, baselines: bool, evaluator: Evaluator | None, programs: list[ProgramRecord]
) -> Yardsticks:
    source: yardsticks.EvaluatorSource | None = None
    if evaluator is not None:
        source = lambda: contextlib.nullcontext(evaluator)  # noqa: E731
    else:
        source = lambda: _own_evaluator(run)  # noqa: E731
    try:
        return yardsticks.yardsticks(run.problem, run.directory, source if baselines else None, programs)
    except UserError as exc:  # no sandbox here: the report goes on without the baselines it could not score
        cached = yardsticks.yardsticks(run.problem, run.directory, None, programs)
        return Yardsticks(cached.baselines, cached.bounds, cached.scored_at, f"baselines not scored: {exc}")


@contextlib.contextmanager
def _own_evaluator(run: RunView):
    evaluator = make_evaluator(run.problem, 0, run.config.unsafe_no_sandbox)
    try:
        yield evaluator
    finally:
        evaluator.pool.close()


class LiveReport:
    """The loop's after-iteration hook for ``--report-every N``: rewrites the run's report every N iterations."""

    def __init__(self, run: RunView, every: int, evaluator: Evaluator, say: Callable[[str], None] = print):
        self.run, self.every, self.evaluator, self.say = run, every, evaluator, say
        self.path = run.directory / REPORT_FILE

    def __call__(self, iteration: int) -> None:
        if self.every and iteration % self.every == 0:
            self.write(live=True)

    def write(self, live: bool = False) -> None:
        """Write the report; a live one reads cached baselines only (scoring them can take a minute, which
        the run should not wait for), the last one scores what is missing with the run's sandboxes."""
        try:
            written = write_report(self.run, self.path, baselines=not live, evaluator=self.evaluator, live=live)
        except Exception as exc:  # noqa: BLE001 - a report must never stop the run that it describes
            self.say(f"warning: the report was not written: {type(exc).__name__}: {exc}")
            return
        self.say(f"report: {written.path} ({written.bytes / 1e6:.1f} MB, {written.seconds:.1f} s)")


# ---------------------------------------------------------------------------------------------- rendering


def _asset(name: str) -> str:
    return resources.files("evolve.review.report").joinpath("assets", name).read_text(encoding="utf-8")


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs  # deferred: only a report needs it

    # No closing tag may appear inside a script element; plotly.js has none today, and this keeps it so.
    return get_plotlyjs().replace("</script", "<\\/script")


def script_json(data: Any) -> str:
    """``data`` as JSON that is inert inside a ``<script>`` element, whatever strings it holds."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(raw, escaped)
    return text.replace("\u2029", "\\u2029")


def render(run: RunView, yard: Yardsticks, programs: Sequence[ProgramRecord], refresh: bool = False) -> str:
    """The report's HTML for ``run``'s ``programs`` (all of them, as read once from the archive)."""
    calls = run.llm_calls()
    data = report_data.report_data(run, yard, programs, calls)
    record = run.record
    title = f"adrs report: run {record.id} of {record.problem}"
    refresh_tag = f'<meta http-equiv="refresh" content="{LIVE_REFRESH_SECONDS}">' if refresh else ""
    body = _summary(run, data, yard, programs, calls)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
{refresh_tag}<title>{_e(title)}</title>
<style>{_asset("report.css")}</style>
<script>{_plotly_js()}</script>
</head><body>
<header id="top"><h1>{_e(title)}</h1><p>{_e(_headline(run))}</p>
<nav>{" ".join(f'<a href="#{a}">{t}</a>' for a, t in _SECTIONS)}</nav></header>
<main id="report">{body}</main>
<article id="program-page" hidden></article>
<script type="application/json" id="report-data">{script_json(data)}</script>
<script>{_asset("report.js")}</script>
</body></html>
"""


_SECTIONS = (
    ("frontier", "Frontier"),
    ("progress", "Best over time"),
    ("lineage", "Lineage"),
    ("programs", "Programs"),
    ("failures", "Failures"),
    ("spend", "Spend"),
    ("configuration", "Configuration"),
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return _e(f"{value:.4g}")
    return _e(value)


def _link(program_id: int) -> str:
    return f'<a href="#program-{int(program_id)}">{int(program_id)}</a>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """A table of cells that are already HTML (from ``_cell`` or ``_link``)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _headline(run: RunView) -> str:
    r, config = run.record, run.config
    spend = f", LLM spend ${r.dollars:.4f} ({r.tokens:,} tokens)" if r.tokens else ", no LLM spend"
    return (
        f"{r.status}: iteration {r.iteration} of {config.iterations}, {r.evaluations:,} sandbox evaluations, "
        f"{r.wall_seconds:,.0f} s{spend}. Written {time.strftime('%Y-%m-%d %H:%M:%S')} from {run.directory}."
    )


def _metric_headers(run: RunView, splits: Sequence[str]) -> list[str]:
    return [f"{o.name}[{o.unit}] {s}" if o.unit else f"{o.name} {s}" for s in splits for o in run.problem.objectives]


def _verdict(run: RunView, yard: Yardsticks, frontier: Sequence[ProgramRecord]) -> str:
    """The run's verdict against the best baseline (``evolve/review/verdict.py``), as the CLI prints it."""
    if not yard.baselines:
        return ""
    lines = "".join(f"<li>{_e(line)}</li>" for line in verdict.verdict_lines(frontier, run.objectives, yard.baselines))
    return (
        f'<div class="verdict"><p>Verdict against the best baseline, train and held-out test:</p><ul>{lines}</ul></div>'
    )


def _summary(
    run: RunView, data: dict[str, Any], yard: Yardsticks, programs: Sequence[ProgramRecord], calls: Sequence[LLMCall]
) -> str:
    by_id = {p.id: p for p in programs}
    objectives = run.problem.objectives
    frontier_ids = set(data["frontier"])
    frontier_rows = [
        [
            _link(i),
            *[_cell(v) for v in _values(by_id[i], objectives)],
            _cell(by_id[i].mutator),
            _cell(by_id[i].generation),
        ]
        for i in data["frontier"]
    ]
    index_rows = [
        [
            _link(p.id),
            _cell(p.iteration),
            _cell(p.mutator),
            _cell(p.model),
            _cell(p.status),
            *[_cell(v) for v in _values(p, objectives[:1])],
            "frontier" if p.id in frontier_ids else "",
        ]
        for p in programs
    ]
    stage_rows, reason_rows = report_data.failures(programs)
    failed = sum(1 for p in programs if p.status != "ok")
    primary = objectives[0]
    searched = _e(", ".join(o.name for o in run.objectives))
    index_headers = [
        "id",
        "iteration",
        "mutator",
        "model",
        "status",
        f"{primary.name} train",
        f"{primary.name} test",
        "",
    ]
    stages = _table(["stage", "status", "programs"], [[_cell(c) for c in row] for row in stage_rows])
    mutators = [[_cell(c) for c in row] for row in report_data.by_mutator(programs, frontier_ids)]
    config = [
        [_cell(k), _cell(json.dumps(v) if isinstance(v, (list, dict)) else v)] for k, v in run.record.config.items()
    ]
    return f"""
<section id="frontier"><h2>Frontier</h2>
<p>{len(frontier_ids)} programs are not dominated on train by any other on {searched} (selection never sees
test). Test scores are those of the same programs, scored on the held-out split when the run ends. Click a
point to open its program.</p>
<div class="controls">x <select id="axis-x"></select> y <select id="axis-y"></select></div>
<div class="pair"><div id="frontier-train" class="plot"></div><div id="frontier-test" class="plot"></div></div>
{_yardstick_note(yard)}
{_verdict(run, yard, [by_id[i] for i in data["frontier"]])}
{_table(["id", *_metric_headers(run, ("train", "test")), "mutator", "generation"], frontier_rows, "frontier")}
{_yardstick_table(run, yard)}
</section>
<section id="progress"><h2>Best over time</h2>
<p>The best train value of each objective found so far, over iterations and over what the run had spent.</p>
<div id="progress-plots"></div></section>
<section id="lineage"><h2>Lineage</h2>
<p>Every ancestor of a frontier program (crossover parents dotted), then its chain of main parents from the seed.</p>
<div class="controls">program <select id="lineage-select"></select></div>
<div id="lineage-plot" class="plot wide"></div><div id="lineage-chain"></div></section>
<section id="programs"><h2>Programs</h2>
<p>{len(programs)} programs, {failed} failed. Each id opens the program's page: code, diff to its parent,
metrics per split and per instance class, its mutator and model, and the verifier's feedback.</p>
{_table(index_headers, index_rows, "index")}
</section>
<section id="failures"><h2>Failures</h2>
{stages if stage_rows else "<p>No program failed.</p>"}
{_reason_table(reason_rows)}
</section>
<section id="spend"><h2>Spend</h2>
{_spend(run, report_data.spend_by_model(calls), calls)}
{_table(["mutator", "model", "programs", "passed train", "failed", "on the frontier"], mutators)}
</section>
<section id="configuration"><h2>Configuration</h2>
{_table(["field", "value"], config, "config")}
</section>"""


def _values(program: ProgramRecord, objectives: Sequence[Objective]) -> list[object]:
    values: list[object] = []
    for split in ("train", "test"):
        metrics = program.metrics(split)
        values += [metrics.get(o.name) if metrics else None for o in objectives]
    return values


def _yardstick_note(yard: Yardsticks) -> str:
    parts = []
    if yard.scored_at:
        parts.append(
            f"Baselines were scored by the report on {_e(yard.scored_at)} on the run's train and test instances, "
            "not during the run: measured times are from that moment."
        )
    if yard.note:
        parts.append(_e(yard.note) + ".")
    return f'<p class="note">{" ".join(parts)}</p>' if parts else ""


def _yardstick_table(run: RunView, yard: Yardsticks) -> str:
    objectives = run.problem.objectives
    rows = []
    for name, splits in yard.baselines.items():
        cells = [_cell(name), "baseline"]
        for split in ("train", "test"):
            entry = splits.get(split, {})
            metrics = entry.get("metrics", {}) if entry.get("status") == "ok" else {}
            cells += [_cell(metrics.get(o.name) if metrics else entry.get("status")) for o in objectives]
        rows.append(cells)
    names = sorted({n for rows_ in yard.bounds.values() for n in rows_})
    for name in names:
        cells = [_cell(name), _cell(run.problem.bound_status(name))]
        for split in ("train", "test"):
            metrics = yard.bounds.get(split, {}).get(name, {})
            cells += [_cell(metrics.get(o.name)) for o in objectives]
        rows.append(cells)
    if not rows:
        return ""
    return _table(["yardstick", "kind", *_metric_headers(run, ("train", "test"))], rows, "yardsticks")


def _reason_table(rows: list[list[Any]]) -> str:
    if not rows:
        return ""
    shown = [
        [_cell(stage), _cell(status), f"<code>{_e(reason)}</code>", _cell(count), " ".join(_link(i) for i in ids)]
        for stage, status, reason, count, ids in rows[:20]
    ]
    more = f"<p>and {len(rows) - 20} other reasons.</p>" if len(rows) > 20 else ""
    return "<h3>By reason</h3>" + _table(["stage", "status", "reason", "programs", "examples"], shown) + more


def _spend(run: RunView, rows: list[list[Any]], failed_calls: Sequence[LLMCall]) -> str:
    record = run.record
    line = (
        f"<p>{record.evaluations:,} sandbox evaluations (tuning trials included) in {record.wall_seconds:,.0f} s; "
        f"model calls cost ${record.dollars:.4f} for {record.tokens:,} tokens.</p>"
    )
    if not rows:
        return line + "<p>No model calls: this run used offline mutators only.</p>"
    headers = [
        "model",
        "calls",
        "applied",
        "edit failed",
        "call failed",
        "cached",
        "prompt tokens",
        "completion tokens",
    ]
    spent = line + _table([*headers, "dollars"], [[_cell(c) for c in row] for row in rows])
    failed = [
        [_cell(model), _cell(kind), _cell(count), f"<code>{_e(reason)}</code>"]
        for model, kind, count, reason in call_failures.failure_rows(failed_calls)
    ]
    if not failed:
        return spent
    return spent + "<h3>Failed calls</h3>" + _table(["model", "kind", "calls", "the latest reason"], failed)
