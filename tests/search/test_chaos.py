"""Chaos: SIGKILL a running `adrs run` 20 times at random moments, resuming after each kill. The final archive
has no duplicate, no lost evaluation and no half-written row, and nothing committed before a kill is gone."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from evolve.archive.models import Evaluation, Program, Run
from evolve.archive.store import Archive, sqlite_url

ITERATIONS = 100_000  # never reached: the run is only ever killed, then finished on purpose at the end


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "evolve.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait_for_a_new_program(archive: Archive, known: int, seconds: float = 120.0) -> None:
    """Until the run holds more than ``known`` programs (a loaded machine takes longer to get there)."""
    deadline = time.monotonic() + seconds
    while len(archive.programs(1)) <= known and time.monotonic() < deadline:
        time.sleep(0.1)


def test_twenty_random_kills_and_resumes_lose_nothing_and_add_nothing_twice(tmp_path):
    run_dir = tmp_path / "chaos"
    rng = random.Random(20)
    process = start("run", "tardiness", "--iterations", str(ITERATIONS), "--run-dir", str(run_dir))
    deadline = time.monotonic() + 60
    while not (run_dir / "run.toml").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    archive = Archive(sqlite_url(run_dir))
    committed: dict[int, set[str]] = {}
    for kill in range(20):
        if kill % 2:  # every other kill lands only after the process committed something new, on any machine
            _wait_for_a_new_program(archive, len(committed))
        time.sleep(rng.uniform(0.2, 3.0))
        process.kill()
        process.wait()
        programs = archive.programs(1)
        for program in programs:  # nothing committed before a kill may disappear or lose an evaluation
            assert set(committed.get(program.id, set())) <= set(program.evaluations), program.id
        assert set(committed) <= {p.id for p in programs}
        committed = {p.id: set(p.evaluations) for p in programs}
        process = start("resume", str(run_dir), "--iterations", str(ITERATIONS))
    process.kill()
    process.wait()
    last = archive.run(1).iteration
    finish = subprocess.run(
        [sys.executable, "-m", "evolve.cli", "resume", str(run_dir), "--iterations", str(last + 2)],
        capture_output=True,
        text=True,
    )
    assert finish.returncode == 0, finish.stderr

    with archive._session() as session:
        run = session.scalar(select(Run))
        assert run.status == "finished" and run.iteration == last + 2
        hashes = Counter(session.scalars(select(Program.code_hash)))
        assert max(hashes.values()) == 1, "a program was stored twice"
        assert session.scalar(select(func.max(Program.iteration))) <= run.iteration
        splits = Counter()
        for program in session.scalars(select(Program)):
            stages = [e.split for e in program.evaluations]
            splits.update(stages)
            assert stages, f"program {program.id} has no evaluation"
            assert len(stages) == len(set(stages)), f"program {program.id} was evaluated twice on a split"
            by_split = {e.split: e for e in program.evaluations}
            if by_split.get("smoke") is not None and by_split["smoke"].status == "ok":
                assert "train" in by_split, f"program {program.id} stopped half-way through its cascade"
        assert session.scalar(select(func.count(Evaluation.id))) == sum(splits.values())
    assert len(committed) >= 5, "the kills should land after some progress"
    assert Path(run_dir / "archive.db").stat().st_size > 0
