"""Evaluation on a Ray cluster: each worker is a Ray actor that keeps one sandbox, the same as ``LocalPool``'s.

An actor, rather than a fresh Ray task per program, keeps the sandbox's pre-forked server warm: a new sandbox
per evaluation costs about 23 times its overhead (docs/benchmarks.md). Each evaluation is a task on that actor.
Ray is an optional dependency, imported only here and only when this executor is chosen.
"""

from __future__ import annotations

import os
from typing import Any

from evaluators.pool import Pool
from evaluators.sandbox import SandboxLimits, SandboxResult, SandboxUnavailable, SandboxWorker

INSTALL_HINT = "pip install 'adrs[ray]' (or pip install ray)"
# Beyond the sandbox's own time limit, what a call may spend in Ray (scheduling, transfers) before the actor is
# presumed lost.
RAY_MARGIN_SECONDS = 60.0


class ExecutorUnavailable(RuntimeError):
    """The chosen executor cannot run here (not installed, or its cluster cannot be reached)."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorUnavailable(f"the Ray executor needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


class RayWorker:
    """A ``Worker`` whose sandbox lives in a Ray actor; a dead actor costs one evaluation and is replaced."""

    def __init__(self, actor_class: Any, slot: int, limits: SandboxLimits, unsafe: bool, preload: tuple[str, ...]):
        self._ray = _ray()
        self._actor_class, self.slot, self.limits = actor_class, slot, limits
        self._arguments = (slot, limits, unsafe, preload)
        self._actor: Any = None

    def start(self) -> None:
        self._actor = self._actor_class.remote(*self._arguments)
        try:
            self._ray.get(self._actor.start.remote())
        except SandboxUnavailable as exc:  # Ray re-raises the actor's exception as a subclass of its type
            self._kill()
            raise SandboxUnavailable(f"on a Ray node: {exc}") from None
        except self._ray.exceptions.RayError as exc:
            self._kill()
            raise SandboxUnavailable(f"the Ray actor of sandbox {self.slot} did not start: {exc}") from None

    def run(
        self, code: str, runner: str, entry_point: str, instances: list[dict], seconds_per_instance: float
    ) -> SandboxResult:
        if self._actor is None:
            self.start()
        budget = self.limits.startup_seconds + seconds_per_instance * (len(instances) + 1) + RAY_MARGIN_SECONDS
        call = self._actor.run.remote(code, runner, entry_point, instances, seconds_per_instance)
        try:
            return self._ray.get(call, timeout=budget)
        except self._ray.exceptions.GetTimeoutError:
            self._kill()
            return SandboxResult("timeout", f"the Ray actor of sandbox {self.slot} did not answer within {budget:g} s")
        except self._ray.exceptions.RayError as exc:  # the actor's process or node died
            self._kill()
            reason = next(iter(str(exc).strip().splitlines()), "")
            return SandboxResult("crashed", f"the Ray actor of sandbox {self.slot} died: {reason}")

    def stop(self) -> None:
        if self._actor is None:
            return
        try:
            self._ray.get(self._actor.stop.remote(), timeout=30)
        except self._ray.exceptions.RayError:
            pass
        self._kill()

    def _kill(self) -> None:
        if self._actor is not None:
            self._ray.kill(self._actor, no_restart=True)  # with it, the sandbox (bwrap --die-with-parent)
            self._actor = None


class RayPool(Pool):
    """Sandboxes in Ray actors, one CPU each, on the cluster at ``address`` or on a local one started here.

    Args:
        runner, entry_point, seconds_per_instance: see ``Pool``.
        workers: number of actors (default: the cluster's CPUs).
        limits, unsafe_no_sandbox: as for ``LocalPool``; every node needs bubblewrap (the ``adrs`` package
            brings it) unless ``unsafe_no_sandbox``.
        address: a running cluster (``HOST:PORT``, ``auto`` or ``ray://HOST:PORT``); empty starts a local one that
            ``close`` shuts down. Every node must have ``adrs`` installed at the same version.
    """

    def __init__(
        self,
        runner: str,
        entry_point: str,
        seconds_per_instance: float,
        workers: int | None = None,
        limits: SandboxLimits = SandboxLimits(),
        unsafe_no_sandbox: bool = False,
        address: str = "",
    ):
        ray = self._ray = _ray()
        self._owns_connection = not ray.is_initialized()
        if self._owns_connection:
            local = {} if address else {"num_cpus": workers or os.cpu_count() or 1, "include_dashboard": False}
            try:
                ray.init(address=address or "local", logging_level="WARNING", log_to_driver=False, **local)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = address or "a new local one"
                raise ExecutorUnavailable(f"cannot reach the Ray cluster at {where}: {exc}") from None
        size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        # One CPU per actor, so Ray spreads sandboxes over nodes as it would spread the work itself.
        actor_class = ray.remote(num_cpus=1, max_restarts=0)(SandboxWorker)
        sandboxes = [RayWorker(actor_class, slot, limits, unsafe_no_sandbox, (runner,)) for slot in range(size)]
        super().__init__(sandboxes, runner, entry_point, seconds_per_instance)

    def close(self) -> None:
        super().close()
        if self._owns_connection:
            self._ray.shutdown()
