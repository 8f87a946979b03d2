"""One writer per run: a second `adrs run`/`adrs resume` of a run is refused with one line naming the first."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from evolve.archive.models import Evaluation, Run
from evolve.archive.store import Archive, sqlite_url
from evolve.cli.main import main
from evolve.search import run_lock
from evolve.search.run_lock import RunBusy

# Genetic edits only, one per iteration: every evaluation the run counts is then stored as one row, so a
# second writer's evaluations (counted, but their programs already stored) would show as a mismatch.
CONFIG = '[run]\nmutators = { genetic = 1.0 }\nbatch_size = 1\nobjectives = ["gap"]\nworkers = 1\n'


def adrs(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "evolve.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


def assert_refused_by(stderr: str, pid: int) -> None:
    """One error line naming the holder by pid and host, one hint line, no traceback."""
    error, hint = stderr.strip().splitlines()
    assert error.startswith("adrs: error:") and "being written by another process" in error, stderr
    assert f"pid {pid} on {socket.gethostname()}" in error and "since " in error
    assert hint.startswith("  hint: one writer per run")


def assert_one_writer_history(run_dir: Path, iterations: int) -> None:
    archive = Archive(sqlite_url(run_dir))
    assert [p.iteration for p in archive.progress(1)] == list(range(iterations + 1)), "progress rows doubled"
    run = archive.run(1)
    assert run.iteration == iterations and run.status == "finished"
    with archive._session() as session:
        cascade = ("smoke", "train", "stress")
        stored = session.scalar(select(func.count(Evaluation.id)).where(Evaluation.split.in_(cascade)))
    assert run.evaluations == archive.progress(1)[-1].evaluations == stored, "evaluations counted twice"


def test_two_resumes_at_once_one_writes_and_the_other_names_it(tmp_path, capsys):
    run_dir, config = tmp_path / "r", str(config_file(tmp_path))
    assert main(["run", "tardiness", "--config", config, "--iterations", "2", "--run-dir", str(run_dir)]) == 0
    capsys.readouterr()
    processes = [adrs("resume", str(run_dir), "--iterations", "12") for _ in range(2)]
    finished = [(process, *process.communicate(timeout=120)) for process in processes]
    winners = [process for process, _, _ in finished if process.returncode == 0]
    refused = [(process, err) for process, _, err in finished if process.returncode != 0]
    assert len(winners) == 1 and len(refused) == 1, [err for _, _, err in finished]
    [(loser, err)] = refused
    assert loser.returncode == 2
    assert_refused_by(err, winners[0].pid)
    assert_one_writer_history(run_dir, 12)


def test_a_live_run_refuses_a_second_run_into_its_directory_and_once_killed_lets_a_resume_in(tmp_path, capsys):
    run_dir, config = tmp_path / "r", str(config_file(tmp_path))
    first = adrs("run", "tardiness", "--config", config, "--iterations", "100000", "--run-dir", str(run_dir))
    try:
        deadline = time.monotonic() + 60
        while not (run_dir / "run.toml").exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        written = (run_dir / "run.toml").read_text()
        second = adrs("run", "tardiness", "--config", config, "--iterations", "3", "--run-dir", str(run_dir))
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2
        assert_refused_by(err, first.pid)
        assert (run_dir / "run.toml").read_text() == written
        with Archive(sqlite_url(run_dir))._session() as session:
            assert session.scalar(select(func.count(Run.id))) == 1, "the refused run created a run"
        assert main(["frontier", str(run_dir)]) == 0, "readers take no lock"
        assert "run 1 (tardiness, running)" in capsys.readouterr().out
    finally:
        first.send_signal(signal.SIGKILL)  # its lock dies with it
        first.communicate()
    killed_at = Archive(sqlite_url(run_dir)).run(1).iteration
    resumed = adrs("resume", str(run_dir), "--iterations", str(killed_at + 2))
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert Archive(sqlite_url(run_dir)).run(1).iteration == killed_at + 2


HOLDER = """
import sys, time
from evolve.search.run_lock import hold_directory
with hold_directory(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_the_directory_lock_names_its_holder_and_dies_with_it(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunBusy) as refused:
            with run_lock.hold_directory(tmp_path):
                pass
        assert f"pid {holder.pid} on {socket.gethostname()} (" in str(refused.value)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock.hold_directory(tmp_path):  # at once: no stale lock to clear by hand
        with pytest.raises(RunBusy, match=f"pid {os.getpid()} "):  # a second holder in one process is refused too
            with run_lock.hold_directory(tmp_path):
                pass


def test_a_postgresql_run_has_one_writer_named_by_its_connection(postgres_url):
    first, second = Archive(postgres_url), Archive(postgres_url)
    run_id = first.create_run("tardiness", {}, 0)
    other_run = first.create_run("tardiness", {}, 1)
    with run_lock.hold_rows(first, run_id):
        with pytest.raises(RunBusy) as refused:
            with run_lock.hold_rows(second, run_id):
                pass
        message = str(refused.value)
        assert f"run {run_id} of postgresql" in message
        assert f"adrs pid {os.getpid()} on {socket.gethostname()}"[:63] in message
        assert "PostgreSQL backend" in message and "since " in message
        with run_lock.hold_rows(second, other_run):  # other runs of the database stay free
            pass
    with run_lock.hold_rows(second, run_id):  # released with its holder
        pass
    first.close()
    second.close()
