"""What the entry points (command line, Python API, report) share: user errors, a full disk, and finding a
problem and an evaluator for it."""

from __future__ import annotations

import contextlib
import errno
import sys
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.exc import OperationalError

from evaluators.evaluator import Evaluator
from evaluators.pool import LocalPool, Pool
from evaluators.sandbox import SandboxLimits, SandboxUnavailable
from problems import registry
from problems.base import Problem, ProblemError

RUN_FILE = "run.toml"  # in a run directory: the run's problem, id and archive URL


class UserError(Exception):
    """A mistake of the user's: printed as one line with a hint, exit status 2."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@contextlib.contextmanager
def full_disk_is_a_user_error(run_dir: Path) -> Iterator[None]:
    """A full disk (the archive's or the run directory's) ends the command in one line: nothing is lost, as
    every iteration is one transaction, and the run goes on once space is freed. Other errors pass."""
    try:
        yield
    except OperationalError as exc:
        detail = str(exc.orig)
        if "database or disk is full" in detail:  # SQLite's SQLITE_FULL
            raise UserError(
                f"the disk is full: cannot write the archive ({detail})", _after_full_disk(run_dir)
            ) from None
        if getattr(exc.orig, "sqlstate", None) == "53100":  # PostgreSQL's disk_full
            message = f"the disk of the database server is full ({detail.splitlines()[0]})"
            raise UserError(message, _after_full_disk(run_dir)) from None
        raise
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise UserError(f"the disk is full: {exc}", _after_full_disk(run_dir)) from None


def _after_full_disk(run_dir: Path) -> str:
    if (Path(run_dir) / RUN_FILE).is_file():
        return f"free some space, then `adrs resume {run_dir}`: every iteration committed before is kept"
    return "free some space, then start the run again"


def load_problem(name: str, problems_dir: str | Path = "") -> Problem:
    """The problem called ``name`` (or at the folder ``name``), also looked for in ``problems_dir``."""
    try:
        return registry.load(name, [problems_dir] if problems_dir else [])
    except ProblemError as exc:
        raise UserError(str(exc), "run `adrs problems` to list them") from None


def _pool(problem: Problem, workers: int, unsafe: bool, executor: str, ray_address: str) -> Pool:
    spec = problem.spec
    settings = (spec.runner, spec.entry_point, spec.seconds_per_instance, workers or None)
    limits = SandboxLimits(memory_mb=spec.memory_mb, cpu_seconds=spec.cpu_seconds)
    if executor == "local":
        return LocalPool(*settings, limits, unsafe)
    from evaluators.ray_pool import ExecutorUnavailable, RayPool  # Ray is optional and slow to import

    try:
        return RayPool(*settings, limits, unsafe, ray_address)
    except ExecutorUnavailable as exc:
        raise UserError(str(exc), "or run with --executor local") from None


def make_evaluator(
    problem: Problem, workers: int, unsafe: bool, executor: str = "local", ray_address: str = ""
) -> Evaluator:
    pool = _pool(problem, workers, unsafe, executor, ray_address)
    try:
        pool.start()
    except SandboxUnavailable as exc:
        pool.close()
        raise UserError(
            f"cannot isolate candidate code here: {exc}",
            "fix bubblewrap, or pass --unsafe-no-sandbox to run candidates without namespaces "
            "(they can then reach the network and your files)",
        ) from None
    if unsafe:
        print("warning: --unsafe-no-sandbox: candidates run without namespaces (rlimits only)", file=sys.stderr)
    return Evaluator(problem, pool)
