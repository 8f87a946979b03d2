"""Pools of sandboxed evaluation servers that run programs in parallel, one per worker.

A pool only hands jobs to idle workers; where a worker lives is the worker's business: ``LocalPool`` keeps
sandboxes on this machine, ``evaluators.ray_pool.RayPool`` keeps each one inside a Ray actor of a cluster.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from evaluators.sandbox import SandboxLimits, SandboxResult, SandboxWorker


@dataclass(frozen=True)
class Job:
    """One program to run on a list of instances (plain JSON data)."""

    code: str
    instances: list[dict]


class Worker(Protocol):
    """One sandbox that runs one program at a time and never raises for anything the program does."""

    def start(self) -> None: ...

    def run(
        self, code: str, runner: str, entry_point: str, instances: list[dict], seconds_per_instance: float
    ) -> SandboxResult: ...

    def stop(self) -> None: ...


class Pool:
    """Runs jobs on a fixed set of workers, each busy with one job at a time; safe to call from many threads.

    Args:
        workers: the sandboxes (see ``Worker``).
        runner: the problem's runner module, imported inside each sandbox.
        entry_point: the function every candidate must define.
        seconds_per_instance: wall-clock limit per instance.
    """

    def __init__(self, workers: Sequence[Worker], runner: str, entry_point: str, seconds_per_instance: float):
        self.runner, self.entry_point, self.seconds_per_instance = runner, entry_point, seconds_per_instance
        self._workers = list(workers)
        self.size = len(self._workers)
        self._idle: queue.SimpleQueue[Worker] = queue.SimpleQueue()
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


class LocalPool(Pool):
    """N sandbox workers on this machine; a crashed worker costs one evaluation and is restarted.

    Args:
        runner, entry_point, seconds_per_instance: see ``Pool``.
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
        size = workers or os.cpu_count() or 1
        cores = 2 if 2 * size <= len(os.sched_getaffinity(0)) else 1  # a core to spare for each: see SandboxWorker
        sandboxes = [SandboxWorker(slot, limits, unsafe_no_sandbox, (runner,), cores) for slot in range(size)]
        super().__init__(sandboxes, runner, entry_point, seconds_per_instance)
