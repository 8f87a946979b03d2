"""What a priority rule sees, built in the candidate's process from its mirror of the shop. Standard library only.

At each decision with two or more operations in the conflict set (``shop.py``), the rule is called once per
operation, ``priority(op, shop)``, and the highest value wins (ties: the first, i.e. the lowest job). A decision
with one operation is forced and calls nothing. The instance is static and known in advance to any real
dispatcher, so the rule may read all of it (``shop.jobs``); it never sees a reference or another instance.
"""

from __future__ import annotations

import math

from problems.jobshop.shop import Shop


class Operation:
    """One operation of the conflict set.

    Attributes:
        job, index: the job and the operation's position in it (0-based).
        machine, duration: where it runs and for how long.
        earliest_start: when it would start if chosen now.
        job_ready: when the job's previous operation ends (0 for its first): the operation's arrival at the
            machine's queue, which FIFO orders by.
        work_remaining: the duration of this operation and the job's later ones.
        ops_remaining: this operation and the job's later ones, counted.
        work_done: the durations of the job's operations already scheduled.
        next_duration, next_machine: of the job's following operation (0 and -1 for the last).
        machine_load: the unscheduled work of all jobs on this operation's machine, this one included.
    """

    __slots__ = (
        "job",
        "index",
        "machine",
        "duration",
        "earliest_start",
        "job_ready",
        "work_remaining",
        "ops_remaining",
        "work_done",
        "next_duration",
        "next_machine",
        "machine_load",
    )

    def __repr__(self) -> str:
        return f"Operation(job={self.job}, index={self.index}, machine={self.machine}, duration={self.duration})"


class ShopView:
    """The state of the schedule the rule sees as ``shop``; ``operations`` are the conflict set.

    Attributes:
        jobs: the instance, per job a tuple of ``(machine, duration)`` pairs (read-only).
        n_jobs, n_machines: its size.
        time: the earliest start in the conflict set (when the machine can next start something).
        completion: ``c*``, the earliest completion among all next operations, which bounds the conflict set.
        next_op, job_ready, machine_free: per job and per machine, as in ``shop.Shop`` (read-only tuples).
        done, total: operations scheduled so far and in all.
        work_remaining: the unscheduled work of all jobs.
        makespan: when the last scheduled operation ends, so far.
        memory: a dict the rule may keep things in within one instance.
    """

    def __init__(self, jobs: list, machines: int):
        self.jobs = tuple(tuple((int(m), int(d)) for m, d in ops) for ops in jobs)
        self.n_jobs, self.n_machines = len(jobs), machines
        self.memory: dict = {}
        self._suffix = [_suffix_sums([d for _, d in ops]) for ops in self.jobs]
        self._load = [0] * machines
        for ops in self.jobs:
            for m, d in ops:
                self._load[m] += d
        self.work_remaining = sum(self._load)
        self.time = self.completion = self.done = self.makespan = 0
        self.total = sum(len(ops) for ops in self.jobs)
        self.next_op: tuple[int, ...] = ()
        self.job_ready: tuple[int, ...] = ()
        self.machine_free: tuple[int, ...] = ()
        self.operations: list[Operation] = []

    def observe(self, shop: Shop, conflict: list[int], completion: int) -> list[Operation]:
        """Refresh the view from the mirror before a decision; the conflict set's operations."""
        self.next_op, self.job_ready = tuple(shop.next_op), tuple(shop.job_ready)
        self.machine_free, self.done = tuple(shop.machine_free), shop.done
        self.makespan, self.completion = shop.makespan(), completion
        operations = []
        for j in conflict:
            k = shop.next_op[j]
            ops = self.jobs[j]
            op = Operation()
            op.job, op.index = j, k
            op.machine, op.duration = ops[k]
            op.earliest_start = shop.earliest_start(j)
            op.job_ready = shop.job_ready[j]
            op.work_remaining = self._suffix[j][k]
            op.ops_remaining = len(ops) - k
            op.work_done = self._suffix[j][0] - op.work_remaining
            op.next_duration, op.next_machine = (ops[k + 1][1], ops[k + 1][0]) if k + 1 < len(ops) else (0, -1)
            op.machine_load = self._load[op.machine]
            operations.append(op)
        self.time = min(op.earliest_start for op in operations)
        self.operations = operations
        return operations

    def record(self, job: int, k: int) -> None:
        """The chosen (or forced) operation ``k`` of ``job`` is scheduled."""
        machine, duration = self.jobs[job][k]
        self._load[machine] -= duration
        self.work_remaining -= duration


def _suffix_sums(values: list[int]) -> list[int]:
    out = [0] * (len(values) + 1)
    for k in range(len(values) - 1, -1, -1):
        out[k] = out[k + 1] + values[k]
    return out


def best(operations: list[Operation], shop: ShopView, priority) -> int:
    """The job of the operation of highest priority (ties: the first); TypeError/ValueError on a bad value."""
    chosen, top = operations[0].job, None
    for op in operations:
        value = priority(op, shop)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(
                f"priority(op, shop) must return a finite int or float, got {repr(value)[:40]} for job {op.job}"
            )
        if top is None or value > top:
            chosen, top = op.job, value
    return chosen
