"""What the command-line modules share: user errors, and finding a problem and an evaluator for it."""

from __future__ import annotations

import sys

from evaluators.evaluator import Evaluator
from evaluators.pool import LocalPool, Pool
from evaluators.sandbox import SandboxLimits, SandboxUnavailable
from problems import registry
from problems.base import Problem, ProblemError


class UserError(Exception):
    """A mistake of the user's: printed as one line with a hint, exit status 2."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def load_problem(name: str) -> Problem:
    try:
        return registry.load(name)
    except ProblemError as exc:
        raise UserError(str(exc), "run `adrs problems` to list them") from None


def _pool(problem: Problem, workers: int, unsafe: bool, executor: str, ray_address: str) -> Pool:
    spec = problem.spec
    settings = (spec.runner, spec.entry_point, spec.seconds_per_instance, workers or None)
    limits = SandboxLimits(memory_mb=spec.memory_mb)
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
