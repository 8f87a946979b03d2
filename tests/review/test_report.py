"""The HTML report: its data, its escaping of hostile programs, and the live report during a run."""

from __future__ import annotations

import json
import re

import pytest
from report_runs import HOSTILE_CODE, real_run, synthetic_run

import evolve.review.report.page
from evolve.api import open_run
from evolve.archive.store import EvaluationRecord, ProgramRecord, ProgressRecord
from evolve.cli.main import main
from evolve.config import ConfigError, RunConfig
from evolve.review.report import data as report_data
from evolve.review.report.highlight import LineTable, diff_hunks, highlighted_lines
from evolve.review.report.page import LiveReport, script_json, write_report
from evolve.review.report.yardsticks import CACHE_FILE
from evolve.search.frontier import frontier_of
from problems.base import Objective


def embedded_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_highlighting_escapes_every_character_of_the_code_and_marks_tokens():
    lines = highlighted_lines('def f(x):  # <b>\n    return "</script>" + 1\n')
    assert lines[0] == "<span class=k>def</span> <span class=f>f</span>(x):  <span class=c># &lt;b&gt;</span>"
    assert lines[1] == '    <span class=k>return</span> <span class=s>"&lt;/script&gt;"</span> + <span class=m>1</span>'


def test_a_string_over_several_lines_is_highlighted_on_each_line():
    lines = highlighted_lines('x = """one\n<two>\n"""\n')
    assert lines == ['x = <span class=s>"""one</span>', "<span class=s>&lt;two&gt;</span>", '<span class=s>"""</span>']


def test_broken_code_is_highlighted_as_far_as_it_goes_and_escaped():
    assert highlighted_lines('s = """never closed <i>\nx = 1\n') == [
        's = <span class=s>"""never closed &lt;i&gt;</span>',
        "<span class=s>x = 1</span>",
    ]
    assert highlighted_lines("def (:\n") == ["<span class=k>def</span> (:"]


def test_the_line_table_highlights_each_line_in_the_state_it_starts_in():
    table = LineTable()
    inside = table.add('s = """\nx = 1\n"""\n')[1]
    outside = table.add("x = 1\n")[0]
    assert table.lines[inside] == "<span class=s>x = 1</span>"
    assert table.lines[outside] == "x = <span class=m>1</span>"


def test_the_line_table_keeps_each_distinct_line_once():
    table = LineTable()
    first = table.add("a = 1\nb = 2\n")
    second = table.add("a = 1\nb = 3\n")
    assert first[0] == second[0] and first[1] != second[1] and len(table.lines) == 3


def test_a_diff_hunk_points_at_the_removed_parent_line_and_the_added_child_line():
    parent = "".join(f"line {i}\n" for i in range(10))
    child = parent.replace("line 5\n", "line five\n")
    [hunk] = diff_hunks(parent, child)
    assert hunk[:4] == [2, 9, 2, 9]  # three lines of context either side
    assert hunk[4:] == [0, 2, 5, 1, 5, 6, 2, 5, 6, 0, 6, 9]
    assert diff_hunks(parent, parent) == []


def test_embedded_json_cannot_close_its_script_element_or_open_a_tag():
    text = script_json({"code": "</script><script>alert(1)</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text)["code"].startswith("</script>")


def program(program_id: int, iteration: int, gap: float | None, parent: int | None = None) -> ProgramRecord:
    evaluation = EvaluationRecord(
        "train", "ok" if gap is not None else "error", {"gap": gap} if gap else {}, {}, [], "", 0
    )
    parents = (parent,) if parent else ()
    return ProgramRecord(
        program_id, 1, "", str(program_id), parents, 0, 0, iteration, "genetic", None, "", {"train": evaluation}
    )


def test_best_over_time_is_the_best_train_value_so_far_for_either_direction():
    programs = [program(1, 0, 5.0), program(2, 1, 7.0), program(3, 2, None), program(4, 3, 2.0)]
    spent = [ProgressRecord(i, 10 * (i + 1), float(i), 0.5 * i, 0) for i in (0, 1, 3)]  # iteration 2 was lost
    low = report_data.progress_series(programs, [Objective("gap", "min")], spent, [], 3)
    assert low["best"]["gap"] == [5.0, 5.0, 5.0, 2.0]
    assert low["evaluations"] == [10, 20, 20, 40] and low["dollars"] == [0.0, 0.5, 0.5, 1.5]
    high = report_data.progress_series(programs, [Objective("gap", "max")], spent, [], 3)
    assert high["best"]["gap"] == [5.0, 7.0, 7.0, 7.0]


def test_failures_are_counted_by_kind_of_reason_not_by_the_numbers_in_it():
    def failed(program_id: int, feedback: str) -> ProgramRecord:
        smoke = EvaluationRecord("smoke", "error", {}, {}, [], feedback, 0)
        return ProgramRecord(program_id, 1, "", str(program_id), (), 0, 0, 1, "genetic", None, "", {"smoke": smoke})

    programs = [
        failed(1, "1 of 3 instances failed; smoke-002: raised ZeroDivisionError (candidate.py line 24)"),
        failed(2, "2 of 3 instances failed; smoke-000: raised ZeroDivisionError (candidate.py line 31)"),
        failed(3, "no answer within 0.5 s"),
    ]
    stages, reasons = report_data.failures(programs)
    assert stages == [["smoke", "error", 3]]
    assert reasons[0][2:] == [
        "N of N instances failed; smoke-N: raised ZeroDivisionError (candidate.py line N)",
        2,
        [1, 2],
    ]


def test_the_report_of_a_hostile_run_holds_no_markup_of_the_candidates(tmp_path):
    run = open_run(synthetic_run(tmp_path / "run"))
    html = write_report(run, baselines=False).path.read_text()
    assert html.count("</script>") == 3  # plotly.js, the data, the page's script: none from a program
    for injected in ("<script>window", "<img src=x", "<b>INJECTED", "<iframe", "model<b>"):
        assert injected not in html
    data = embedded_data(html)
    hostile = next(p for p in data["programs"] if p["mutator"] == "llm")
    shown = "\n".join(data["lines"][i] for i in hostile["code"])
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in shown
    assert re.sub(r"<[^>]+>", "", shown).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").rstrip() == (
        HOSTILE_CODE.rstrip()
    )


def test_a_report_of_a_running_run_reloads_itself_only_when_written_live(tmp_path):
    run = open_run(synthetic_run(tmp_path / "run", status="running"))
    assert 'http-equiv="refresh"' in write_report(run, baselines=False, live=True).path.read_text()
    assert 'http-equiv="refresh"' not in write_report(run, baselines=False).path.read_text()


def test_report_every_is_a_run_setting_loadable_from_toml(tmp_path):
    (tmp_path / "run.toml").write_text("[run]\nreport_every = 3\n")
    assert RunConfig.from_toml(tmp_path / "run.toml").report_every == 3
    with pytest.raises(ConfigError, match="report_every must not be negative"):
        RunConfig(report_every=-1)


def test_a_run_with_report_every_rewrites_its_report_between_iterations(tmp_path_factory):
    run_dir, printed = real_run(tmp_path_factory, seed=1)
    lines = printed.splitlines()
    reports = [i for i, line in enumerate(lines) if line.startswith("report: ")]
    iteration = {int(m.group(1)): i for i, line in enumerate(lines) if (m := re.match(r"iteration (\d+)/4", line))}
    assert len(reports) == 3  # after iterations 2 and 4, and once the test split is scored
    assert iteration[2] < reports[0] < iteration[3] < reports[1]
    data = embedded_data((run_dir / "report.html").read_text())
    run = open_run(run_dir)
    # The run's frontier: times within its timing tolerance are one point (docs/search.md).
    front = frontier_of(run.programs(), run.objectives, run.config.timing_tolerance)
    assert data["frontier"] == [p.id for p in front]
    assert all("test" in byid["metrics"] for byid in data["programs"] if byid["id"] in data["frontier"])
    assert {b["name"] for b in data["baselines"]} == {"edd", "wspt", "wmdd", "atc"}
    # Train's 50 and 100-job instances have computed references, its 20-job ones optima.
    assert data["bounds"]["train"] == [{"name": "references (50 computed, 25 optimum)", "metrics": {"gap": 0.0}}]
    assert data["progress"]["evaluations"][-1] == run.record.evaluations


def test_adrs_report_scores_the_baselines_once_and_then_reads_them_from_the_run_directory(
    tmp_path_factory, tmp_path, monkeypatch, capsys
):
    run_dir, _ = real_run(tmp_path_factory, seed=1)
    assert (run_dir / CACHE_FILE).is_file()  # the run's last report scored them with its own sandboxes

    def no_sandbox(*_args, **_kwargs):
        raise AssertionError("the cached baselines should have been used")

    monkeypatch.setattr(evolve.review.report.page, "make_evaluator", no_sandbox)
    assert main(["report", str(run_dir), "-o", str(tmp_path / "r.html")]) == 0
    assert "wrote" in capsys.readouterr().out
    page = (tmp_path / "r.html").read_text()
    data = embedded_data(page)
    assert len(data["baselines"]) == 4 and all(b["test"] for b in data["baselines"])
    # the verdict the CLI prints, one line per selected objective against the best baseline
    verdict = page.split('<div class="verdict">', 1)[1].split("</div>", 1)[0]
    assert verdict.count("<li>") == 2 and "<li>time_ms: " in verdict
    # Four iterations may or may not get past the baselines the run started from; either way the line says so.
    assert (
        "<li>gap: program " in verdict
        or "<li>gap: does not beat wmdd (the best program on train is wmdd itself)" in verdict
    )


def test_report_mistakes_are_one_line_with_a_hint(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("adrs: error:") and "not a run directory" in err and "hint:" in err


def test_yardsticks_missing_from_the_cache_are_named_when_the_report_may_not_score_them(tmp_path):
    run = open_run(synthetic_run(tmp_path / "run"))
    html = write_report(run, baselines=False).path.read_text()
    assert "4 baseline(s) not scored yet" in html
    assert embedded_data(html)["baselines"] == []


def test_reports_written_during_a_run_never_wait_for_the_baselines(tmp_path):
    class NoEvaluations:
        def evaluate_many(self, *_args):
            raise AssertionError("a live report must not evaluate anything")

    run = open_run(synthetic_run(tmp_path / "run", status="running"))
    said: list[str] = []
    live = LiveReport(run, 2, NoEvaluations(), said.append)
    live(1)
    assert not (run.directory / "report.html").exists()
    live(2)
    html = (run.directory / "report.html").read_text()
    assert said[0].startswith("report: ") and "not scored yet" in html and 'http-equiv="refresh"' in html
