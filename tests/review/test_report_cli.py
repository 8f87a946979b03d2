"""Reading runs: `adrs compare`, `adrs export`, `adrs watch` and the Python API, on real and synthetic runs."""

from __future__ import annotations

import ast
import csv
import importlib.util
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from report_runs import HOSTILE_NOTE, real_run, synthetic_run

from evolve import api
from evolve.archive.store import Archive, sqlite_url
from evolve.cli.main import main
from evolve.review import compare, watch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_seeds(tmp_path_factory) -> tuple[Path, Path]:
    return real_run(tmp_path_factory, seed=1)[0], real_run(tmp_path_factory, seed=2)[0]


def test_compare_tabulates_two_seeded_runs_with_their_mean_and_95_percent_interval(two_seeds, capsys):
    assert main(["compare", *map(str, two_seeds)]) == 0
    printed = capsys.readouterr().out
    assert "gap [%], lower is better:" in printed and "time_ms [ms], lower is better:" in printed
    means = [line for line in printed.splitlines() if line.startswith("mean of 2 (95% interval)")]
    assert len(means) == 2 and all("same setup" in line for line in means)
    runs = [api.open_run(d) for d in two_seeds]
    bests = [min(p.metrics("train")["gap"] for p in r.programs() if p.metrics("train")) for r in runs]
    mean, low, high = compare.interval95(bests)
    assert f"{mean:.4g} [{low:.4g}, {high:.4g}]" in means[0]

    assert main(["compare", *map(str, two_seeds), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["best gap train"] for row in rows[:2]] == bests
    for row, run in zip(rows, runs):  # what the run had spent when it committed its best program
        best = min((p for p in run.programs() if p.metrics("train")), key=lambda p: (p.metrics("train")["gap"], p.id))
        spent = {step.iteration: step.evaluations for step in run.progress()}
        assert row["evaluations to gap"] == spent[best.iteration] <= run.record.evaluations
        assert row["gap test (same program)"] == best.metrics("test")["gap"]


def test_the_95_percent_interval_is_student_t_and_needs_two_values():
    mean, low, high = compare.interval95([1.0, 2.0, 3.0])
    assert mean == 2.0 and high - mean == pytest.approx(4.303 / 3**0.5)
    assert compare.interval95([1.0]) is None


def test_compare_groups_runs_by_what_steers_the_search(tmp_path, two_seeds, capsys):
    other = synthetic_run(tmp_path / "other")  # a different iteration count: its own group, no mean
    assert main(["compare", str(two_seeds[0]), str(other)]) == 0
    printed = capsys.readouterr().out
    assert "iterations=4" in printed and "iterations=2" in printed and "mean of" not in printed


def test_compare_refuses_runs_of_different_problems(tmp_path, two_seeds, capsys):
    other = synthetic_run(tmp_path / "other")
    archive = Archive(sqlite_url(other))
    with archive._session.begin() as session:
        from evolve.archive.models import Run

        session.get(Run, 1).problem = "serving"
    assert main(["compare", str(two_seeds[0]), str(other)]) == 2
    assert "different problems" in capsys.readouterr().err


def test_an_exported_program_imports_and_scores_as_the_archived_one_via_adrs_eval(two_seeds, tmp_path, capsys):
    run = api.open_run(two_seeds[0])
    evolved = [p for p in run.programs() if p.mutator not in ("seed", "baseline") and p.selectable]
    assert evolved, "four iterations make children that pass every stage"
    best = min(evolved, key=lambda p: p.metrics("train")["gap"])
    module = tmp_path / "heuristic.py"
    assert main(["export", str(two_seeds[0]), str(best.id), "-o", str(module)]) == 0
    text = module.read_text()
    assert text.startswith(f"# adrs export of program {best.id} of run 1 (tardiness)")
    assert f"lineage: {best.id} ({best.mutator}) <- " in text and text.endswith(best.code)
    spec = importlib.util.spec_from_file_location("heuristic", module)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    assert sorted(loaded.schedule([3, 1, 2], [1, 1, 1], [3, 1, 2])) == [0, 1, 2]

    capsys.readouterr()
    assert main(["eval", "tardiness", str(module), "--split", "train"]) == 0
    printed = capsys.readouterr().out
    archived = best.metrics("train")
    shown = re.escape(f"{archived['gap']:.4g}")
    assert re.search(rf"^gap\s+{shown}$", printed, re.M), printed
    assert api.evaluate_file("tardiness", module, split="train").metrics["gap"] == archived["gap"]


def test_an_exported_header_cannot_turn_a_hostile_note_into_code(tmp_path):
    run = api.open_run(synthetic_run(tmp_path / "run"))
    hostile = run.program(2)
    assert hostile.note == HOSTILE_NOTE
    text = run.export(2)
    statements = ast.dump(ast.parse(text))
    assert statements == ast.dump(ast.parse(hostile.code))  # the header is comments only
    assert "pwned" in text  # still there to read, inside a comment


def test_export_writes_tables_of_the_frontier_and_of_a_lineage(two_seeds, capsys):
    run = api.open_run(two_seeds[0])
    assert main(["export", str(two_seeds[0]), "--format", "csv", "--frontier"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [int(r["id"]) for r in rows] == [p.id for p in run.frontier()]
    assert all(float(r["train.gap"]) == run.program(int(r["id"])).metrics("train")["gap"] for r in rows)
    best = run.best("gap")
    assert main(["export", str(two_seeds[0]), str(best.id), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in document["programs"]] == [p.id for p in run.lineage(best.id)]
    assert document["programs"][0]["code"] == best.code


def test_export_mistakes_are_one_line_with_a_hint(two_seeds, capsys):
    assert main(["export", str(two_seeds[0]), "9999"]) == 2
    err = capsys.readouterr().err
    assert "no program 9999" in err and "hint: ids run from 1 to" in err
    assert main(["export", str(two_seeds[0])]) == 2
    assert "which program?" in capsys.readouterr().err


def test_watch_once_shows_progress_the_frontier_and_the_last_failures(tmp_path, capsys):
    run_dir = synthetic_run(tmp_path / "run")
    assert main(["watch", str(run_dir), "--once"]) == 0
    printed = capsys.readouterr().out
    assert "iterations   [###############---------------]  50%  1 of 2" in printed
    assert "frontier on train" in printed and re.search(r"^2\s+3\s", printed, re.M)
    assert "last failures:" in printed and re.search(r"^3\s+1\s+smoke\s+error\s+raised ValueError", printed, re.M)


class EndsTheRunAfter(io.StringIO):
    """The watcher's output, which finishes the run once ``frames`` frames were shown (on a loaded machine a
    timer could fire before the watcher drew any second frame)."""

    def __init__(self, archive: Archive, frames: int):
        super().__init__()
        self.archive, self.frames = archive, frames

    def flush(self) -> None:
        super().flush()
        if self.getvalue().count("run 1 of tardiness in ") == self.frames:
            self.archive.finish_run(1, "finished", 2.0)


def test_watch_refreshes_until_the_run_ends_and_shows_the_end(tmp_path):
    run_dir = synthetic_run(tmp_path / "run", status="running")
    out = EndsTheRunAfter(Archive(sqlite_url(run_dir)), frames=3)
    assert watch.watch(api.open_run(run_dir), 0.01, False, 5, out) == 0
    statuses = re.findall(r"^run 1 of tardiness in .*: (\w+)  \(", out.getvalue(), re.M)
    assert len(statuses) >= 3 and statuses[0] == "running" and statuses[-1] == "finished"
    assert statuses.count("finished") == 1, "watch stops once it has shown the end"


def test_the_api_names_what_is_wrong_with_a_hint(tmp_path):
    with pytest.raises(api.UserError, match="not a run directory") as raised:
        api.open_run(tmp_path)
    assert raised.value.hint
    run = api.open_run(synthetic_run(tmp_path / "run"))
    with pytest.raises(api.UserError, match="no program 42"):
        run.program(42)
    with pytest.raises(api.UserError, match="no objective 'speed'"):
        run.best("speed")


def test_the_notebook_example_runs_on_a_real_run(two_seeds):
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "notebook.py"), str(two_seeds[1])], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    scored = re.search(r"on train: ok, gap (\S+) \(archived: (\S+)\)", done.stdout)
    assert scored and scored.group(1) == scored.group(2)
    assert "report: " in done.stdout and "best on train: program" in done.stdout
