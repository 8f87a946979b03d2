"""A pool of sandboxed evaluation servers that runs programs in parallel, one per slot."""

from __future__ import annotations

import os
import queue
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from evaluators.sandbox import SandboxLimits, SandboxResult, SandboxWorker


@dataclass(frozen=True)
class Job:
    """One program to run on a list of instances (plain JSON data)."""

    code: str
    instances: list[dict]


class LocalPool:
    """N sandbox workers on this machine; a crashed worker costs one evaluation and is restarted.

    Args:
        runner: the problem's runner module, imported inside each sandbox.
        entry_point: the function every candidate must define.
        seconds_per_instance: wall-clock limit per instance.
        workers: number of parallel sandboxes (default: the number of cores).
        limits: resource limits of each candidate.
        unsafe_no_sandbox: run without namespaces; see ``SandboxWorker``.
    """

    def __init__(
        self,
        runner: str,
        entry_point: str,
        seconds_per_instance: float,
        workers: int | None = None,
        limits: SandboxLimits = SandboxLimits(),
        unsafe_no_sandbox: bool = False,
    ):
        self.runner, self.entry_point, self.seconds_per_instance = runner, entry_point, seconds_per_instance
        self.size = workers or os.cpu_count() or 1
        self._workers = [SandboxWorker(slot, limits, unsafe_no_sandbox, (runner,)) for slot in range(self.size)]
        self._idle: queue.SimpleQueue[SandboxWorker] = queue.SimpleQueue()
        for worker in self._workers:
            self._idle.put(worker)
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="sandbox")

    def start(self) -> None:
        """Start every worker now (raises SandboxUnavailable when isolation cannot be had)."""
        list(self._executor.map(lambda w: w.start(), self._workers))

    def run(self, job: Job) -> SandboxResult:
        worker = self._idle.get()
        try:
            return worker.run(job.code, self.runner, self.entry_point, job.instances, self.seconds_per_instance)
        finally:
            self._idle.put(worker)

    def map(self, jobs: Sequence[Job]) -> list[SandboxResult]:
        """Run jobs in parallel; results in the order of ``jobs``."""
        return list(self._executor.map(self.run, jobs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        for worker in self._workers:
            worker.stop()
