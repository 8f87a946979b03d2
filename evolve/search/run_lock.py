"""One writer per run: ``adrs run`` and ``adrs resume`` hold their run's lock for as long as they write to it.

Two writers of one run would both commit each iteration (doubled progress rows, evaluations counted twice), so
a second one is refused with the first's name. Both locks die with their holder, SIGKILL included, so a killed
run can be resumed at once:

- the run directory's: ``flock`` on ``RUN_DIR/run.lock``, which names its holder (pid, host, argv, start);
- the run's rows in PostgreSQL, which several machines may share: a session-level advisory lock on a connection
  kept open for the run's lifetime, named by its ``application_name``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from evolve.archive.store import Archive
from evolve.search.loop import STOP_FILE
from evolve.wiring import UserError

LOCK_FILE = "run.lock"
_RUN_LOCK = 0x61647272  # "adrr": first key of the PostgreSQL advisory lock (_RUN_LOCK, run id) of a writer
_READ_HOLDER_SECONDS = 1.0  # a holder writes its name just after taking the lock

_TRY = "SELECT pg_try_advisory_lock(CAST(:key AS integer), CAST(:run_id AS integer))"
_HOLDER = """
SELECT a.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = CAST(:key AS oid)
  AND l.objid = CAST(:run_id AS oid) AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


class RunBusy(UserError):
    """Another live process writes the run."""

    def __init__(self, what: str, holder: str, stop_file: str):
        super().__init__(
            f"{what} is being written by another process: {holder}",
            f"one writer per run: wait for it to end, or stop it (Ctrl-C, or {stop_file})",
        )


@contextlib.contextmanager
def hold_run(run_dir: Path, archive: Archive, run_id: int) -> Iterator[None]:
    """Hold both locks of a run that exists (``adrs resume``); raises RunBusy when another process holds one."""
    with hold_directory(run_dir), hold_rows(archive, run_id):
        yield


@contextlib.contextmanager
def hold_directory(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock; raises RunBusy, naming the holder, when another process holds it."""
    path = Path(run_dir) / LOCK_FILE
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by the sandboxes (PEP 446)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunBusy(str(run_dir), _file_holder(path), f"`touch {Path(run_dir) / STOP_FILE}`") from None
        os.ftruncate(descriptor, 0)  # what a killed holder left
        os.write(descriptor, json.dumps(_me()).encode())
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)  # releases the lock, as the death of the process would


@contextlib.contextmanager
def hold_rows(archive: Archive, run_id: int) -> Iterator[None]:
    """Hold the run's advisory lock where the archive is PostgreSQL (elsewhere the directory's lock is enough:
    an SQLite archive is a file of one machine)."""
    if archive.engine.dialect.name != "postgresql":
        yield
        return
    # Autocommit: the connection stays open for hours, and must not hold a transaction open meanwhile.
    connection = archive.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        name = f"adrs pid {os.getpid()} on {socket.gethostname()}"[:63]  # PostgreSQL keeps 63 bytes of it
        connection.execute(text("SELECT set_config('application_name', :name, false)"), {"name": name})
        keys = {"key": _RUN_LOCK, "run_id": run_id}
        if not connection.scalar(text(_TRY), keys):
            holders = connection.execute(text(_HOLDER), keys).all()
            what = f"run {run_id} of {_shown(archive)}"
            raise RunBusy(what, _backend_holder(holders), f"a file {STOP_FILE} in its run directory")
        yield
    finally:
        # Closing the session releases its lock; the renamed connection must not go back to the pool.
        connection.invalidate()
        connection.close()


def _me() -> dict:
    since = datetime.now().astimezone().isoformat(timespec="seconds")
    return {"pid": os.getpid(), "host": socket.gethostname(), "argv": sys.argv, "since": since}


def _file_holder(path: Path) -> str:
    deadline = time.monotonic() + _READ_HOLDER_SECONDS
    while True:
        try:
            holder = json.loads(path.read_text())
            return f"pid {holder['pid']} on {holder['host']} ({shlex.join(holder['argv'])}), since {holder['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            if time.monotonic() > deadline:
                return f"a process that has not named itself in {path}"
            time.sleep(0.02)


def _backend_holder(holders: list) -> str:
    if not holders:  # it ended between our attempt and the look-up
        return "a process that just let go of it; try again"
    pid, name, address, started = holders[0]
    since = f", since {started.isoformat(timespec='seconds')}" if started is not None else ""
    client = f" from {address}" if address is not None else ""
    return f"{name or 'a client'} (PostgreSQL backend {pid}{client}{since})"


def _shown(archive: Archive) -> str:
    return archive.engine.url.render_as_string(hide_password=True)
