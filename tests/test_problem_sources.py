"""Problems outside the checkout: a scaffolded folder anywhere on disk, and a pip package found by entry point.

Every command runs as a user would run it: ``python -m evolve.cli`` in a working directory outside the
repository, the problem's files in a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evolve.review.run_view import open_view
from problems import registry
from problems.base import ProblemError, ProblemSpec

PACKAGE = Path(__file__).resolve().parent / "data" / "problem_package"
ROOT_TARDINESS = Path(__file__).resolve().parents[1] / "problems" / "tardiness"


def adrs(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evolve.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def row(output: str, program: str) -> list[str]:
    """The cells of ``program``'s row in a table that ``adrs`` printed."""
    [line] = [line for line in output.splitlines() if line.split()[:1] == [program]]
    return line.split()


def test_a_scaffolded_problem_outside_the_repository_is_evaluated_evolved_resumed_and_reported(tmp_path):
    made = adrs("new-problem", "knapsack", "--dir", "mine", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "mine" / "knapsack"
    assert {"problem.toml", "problem.py", "runner.py", "test_knapsack.py"} <= {p.name for p in folder.iterdir()}

    own_tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert own_tests.returncode == 0, own_tests.stdout[-3000:]

    bench = adrs("bench", "knapsack", "--problems-dir", "mine", "--split", "train", cwd=tmp_path)
    assert bench.returncode == 0, bench.stderr
    seed_gap, ratio_gap = float(row(bench.stdout, "seed")[2]), float(row(bench.stdout, "ratio")[2])
    assert 0 < ratio_gap < seed_gap  # the baseline beats the deliberately naive seed; neither reaches the optimum
    assert row(bench.stdout, "optimum")[1:3] == ["optimal", "0"]

    scored = adrs("eval", str(folder), str(folder / "seeds" / "ratio.py"), "--split", "train", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert float(row(scored.stdout, "gap")[1]) == pytest.approx(ratio_gap, abs=1e-3)  # same program, same split

    ran = adrs("run", "knapsack", "--problems-dir", "mine", "--iterations", "2", "--run-dir", "run", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    run_dir = tmp_path / "run"
    assert f'problem_source = "folder {folder}"' in (run_dir / "run.toml").read_text()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()  # resumed from another working directory: the recorded folder is absolute
    resumed = adrs("resume", str(run_dir), "--iterations", "3", cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    view = open_view(run_dir)
    assert view.record.iteration == 3 and view.config.problems_dir == str(folder.parent)
    assert view.problem.source.origin == "folder" and view.problem.seed_program() == folder / "seeds" / "seed.py"
    view.close()

    reported = adrs("report", str(run_dir), cwd=elsewhere)
    assert reported.returncode == 0, reported.stderr
    assert "ratio" in (run_dir / "report.html").read_text()  # the folder's own baseline is on the frontier

    shutil.move(folder, tmp_path / "moved")
    lost = adrs("resume", str(run_dir), "--iterations", "4", cwd=elsewhere)
    assert lost.returncode == 2 and "unknown problem 'knapsack'" in lost.stderr
    assert open_view(run_dir).record.iteration == 3  # nothing stored was lost


def test_new_problem_never_overwrites_and_refuses_names_taken_by_modules(tmp_path):
    (tmp_path / "knapsack").mkdir()
    (tmp_path / "knapsack" / "notes.txt").write_text("mine")
    work = tmp_path / "work"  # not the folder itself: `python -m` puts its working directory on the import path
    work.mkdir()
    taken = adrs("new-problem", "knapsack", "--dir", str(tmp_path), cwd=work)
    assert taken.returncode == 2 and "already exists" in taken.stderr
    assert [p.name for p in (tmp_path / "knapsack").iterdir()] == ["notes.txt"]
    for name in ("json", "numpy", "Knapsack", "two-words"):
        refused = adrs("new-problem", name, "--dir", str(tmp_path), cwd=work)
        assert refused.returncode == 2 and "adrs: error:" in refused.stderr, name
        assert not (tmp_path / name).exists()


def test_an_installed_problem_package_is_found_through_its_entry_point(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source)  # pip builds in the source tree: never in the repository
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-build-isolation"]
        + ["--target", str(site), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": str(site)}

    listed = adrs("problems", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^tiny: Pick the largest.*\n.*\n\s+from: installed package adrs_tiny", listed.stdout, re.M)

    bench = adrs("bench", "tiny", "--split", "train", cwd=tmp_path, env=env)
    assert bench.returncode == 0, bench.stderr
    assert float(row(bench.stdout, "largest")[2]) == 0 < float(row(bench.stdout, "first")[2])

    missing = adrs("problems", cwd=tmp_path)  # without the package on the path, no trace of it
    assert missing.returncode == 0 and "tiny" not in missing.stdout


def test_a_problem_name_found_twice_is_an_error_not_a_guess(tmp_path):
    copy = tmp_path / "tardiness"
    copy.mkdir()
    (copy / "problem.toml").write_text('name = "tardiness"\n')
    with pytest.raises(ProblemError, match="two problems are called 'tardiness'"):
        registry.sources([tmp_path])
    with pytest.raises(ProblemError, match="holds no problem.toml"):
        registry.find(str(tmp_path / "nowhere"))
    with pytest.raises(ProblemError, match="problems folder .* does not exist"):
        registry.sources([tmp_path / "nowhere"])


def test_a_configuration_file_can_name_the_problems_folder_and_the_run_keeps_it_absolute(tmp_path):
    # another name than the test above: both load their problem into this process, where a name is one module
    made = adrs("new-problem", "bag", "--dir", "mine", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    (tmp_path / "config.toml").write_text('[run]\nproblem = "bag"\nproblems_dir = "mine"\niterations = 1\n')
    ran = adrs("run", "--config", "config.toml", "--run-dir", "run", "--objectives", "gap", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    view = open_view(tmp_path / "run")
    assert view.config.problems_dir == str(tmp_path / "mine")
    assert [b.name for b in view.problem.baselines()] == ["ratio.py"]
    view.close()


def test_a_problem_toml_whose_search_objectives_are_not_its_objectives_is_refused(tmp_path):
    toml = tmp_path / "problem.toml"
    text = (ROOT_TARDINESS / "problem.toml").read_text()
    toml.write_text(text.replace('entry_point = "schedule"', 'entry_point = "schedule"\nsearch_objectives = ["gap"]'))
    assert ProblemSpec.from_toml(toml).search_objectives == ("gap",)
    toml.write_text(text.replace('entry_point = "schedule"', 'entry_point = "schedule"\nsearch_objectives = ["speed"]'))
    with pytest.raises(ProblemError, match=r"search_objectives names \['speed'\], which are not objectives"):
        ProblemSpec.from_toml(toml)


def test_a_problems_cpu_limit_reaches_the_sandboxes_of_its_evaluations():
    from evolve.wiring import _pool

    podpack, tardiness = registry.load("podpack"), registry.load("tardiness")
    assert (podpack.spec.cpu_seconds, tardiness.spec.cpu_seconds) == (900, 120)  # set in one, the default in the other
    for problem in (podpack, tardiness):
        pool = _pool(problem, 1, False, "local", "")
        try:
            assert {w.limits.cpu_seconds for w in pool._workers} == {problem.spec.cpu_seconds}
        finally:
            pool.close()
