"""Every program in this folder attacks the framework as a `tardiness` candidate. For each: the run goes on,
the program is recorded as failed with a specific reason (or, for attacks that cannot even start, scored
honestly), no process of it survives, the archive and the repository are intact, and no secret reaches it.

The first line of each program says what to expect: ``# expect: STATUS[|STATUS...]: reason fragment``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from harness import attack, expectation, matches, programs_in
from processes import alive, descendants_of

from evaluators.sandbox import SandboxLimits

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PROGRAMS = programs_in(HERE)
SEED = (
    "# EVOLVE-BLOCK-START\n"
    "def schedule(p, w, d):\n"
    "    return sorted(range(len(p)), key=lambda j: d[j])\n"
    "# EVOLVE-BLOCK-END\n"
)


def repository_fingerprint() -> str:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    digest = hashlib.sha256()
    for name in sorted(files):
        path = REPO / name
        if path.is_file():
            digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, processes_before_the_attacks):
    folder = tmp_path_factory.mktemp("hostile")
    os.environ["ADRS_HOSTILE_SECRET_KEY"] = "hunter2"
    before = repository_fingerprint()
    programs = [(p.stem, p.read_text()) for p in PROGRAMS]
    try:
        # A small address space, the memory bomb's limit (tests/hostile/memory_bomb.py says why it touches no pages).
        run = attack("tardiness", programs, folder, 2, SandboxLimits(memory_mb=384), 1.0, SEED)
    finally:
        os.environ.pop("ADRS_HOSTILE_SECRET_KEY")
    return run.outcome, run.archive, run.run_id, before, folder


def test_the_suite_holds_at_least_fifteen_attacks():
    assert len(PROGRAMS) >= 15


def test_the_run_goes_on_to_its_end(attacked):
    outcome, archive, run_id, *_ = attacked
    assert outcome.status == "finished" and archive.run(run_id).iteration == 1


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_each_attack_is_recorded_with_a_specific_outcome(attacked, program):
    _, archive, run_id, *_ = attacked
    [record] = [p for p in archive.programs(run_id) if p.note == program.stem]
    statuses, reasons = expectation(program)
    assert record.status in statuses, (record.status, [e.feedback for e in record.evaluations.values()])
    if record.status != "ok":
        feedback = " ".join(e.feedback for e in record.evaluations.values())
        assert matches(feedback, reasons), feedback


def test_no_process_of_any_attack_survives(attacked, processes_before_the_attacks):
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert "sleep 4301" not in listing
    survivors = [pid for pid in set(descendants_of(os.getpid())) - processes_before_the_attacks if alive(pid)]
    assert survivors == [], "the pool's sandboxes, and everything in them, are gone"


def test_the_archive_and_the_repository_are_intact_and_nothing_was_planted(attacked):
    _, archive, run_id, before, folder = attacked
    assert repository_fingerprint() == before
    assert len(archive.programs(run_id)) == 1 + len(PROGRAMS)
    assert (folder / "archive.db").is_file() and (folder / "seed.py").read_text() == SEED
    assert not Path("/tmp/pwned-by-candidate").exists() and not Path("/usr/lib/owned-by-candidate").exists()


def test_faking_the_timer_does_not_fake_the_measured_time(attacked):
    _, archive, run_id, *_ = attacked
    [record] = [p for p in archive.programs(run_id) if p.note == "fake_the_timer"]
    assert record.metrics("smoke")["time_ms"] > 1.0  # 300,000 squares per call cannot take under a millisecond


def test_no_secret_reached_any_candidate(attacked):
    _, archive, run_id, *_ = attacked
    for program in archive.programs(run_id):
        assert all("hunter2" not in e.feedback for e in program.evaluations.values())
    [reader] = [p for p in archive.programs(run_id) if p.note == "read_api_key"]
    assert reader.status == "ok"  # it returns a bad answer on purpose if it finds the secret
