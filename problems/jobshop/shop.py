"""The job shop's rules: the Giffler-Thompson active-schedule builder and the schedule checker. Standard library
only: the sandbox server (``runner.drive``), the candidate's process (``runner.play``) and the trusted verifier
all build schedules with this one class.

An instance is ``jobs``: per job, its operations in order, each ``[machine, duration]`` (machines 0-based,
durations positive ints). Giffler and Thompson (1960) build every active schedule this way: among the next
operations of the jobs, take the one that could finish first (earliest completion ``c*``, ties to the lowest
job) and its machine ``m*``; the *conflict set* is every next operation on ``m*`` that could start before
``c*``; one of them is chosen (here: by the policy) and starts as early as it can. Repeat until all are done.
A decision names the job whose next operation is chosen, so a whole schedule is a list of job indices.
"""

from __future__ import annotations


class Infeasible(ValueError):
    """A decision that is not in the conflict set, or a log that does not complete the schedule."""


class Shop:
    """The state of a partial active schedule.

    Attributes:
        jobs: the instance (per job, ``[machine, duration]`` pairs in order).
        machines: the number of machines.
        next_op: per job, the index of its next unscheduled operation.
        job_ready: per job, when its last scheduled operation ends.
        machine_free: per machine, when its last scheduled operation ends.
        starts: per job, the start of each scheduled operation.
        done: operations scheduled so far.
        total: operations in all.
    """

    def __init__(self, jobs: list, machines: int):
        self.jobs = jobs
        self.machines = machines
        self.next_op = [0] * len(jobs)
        self.job_ready = [0] * len(jobs)
        self.machine_free = [0] * machines
        self.starts: list[list[int]] = [[] for _ in jobs]
        self.done = 0
        self.total = sum(len(ops) for ops in jobs)

    def finished(self) -> bool:
        return self.done == self.total

    def earliest_start(self, job: int) -> int:
        machine = self.jobs[job][self.next_op[job]][0]
        ready, free = self.job_ready[job], self.machine_free[machine]
        return ready if ready > free else free

    def conflict_set(self) -> tuple[list[int], int, int]:
        """The jobs whose next operation is in the conflict set (ascending), its machine and ``c*``."""
        jobs, next_op = self.jobs, self.next_op
        best, best_machine = None, -1
        for j, k in enumerate(next_op):
            if k < len(jobs[j]):
                machine, duration = jobs[j][k]
                completion = self.earliest_start(j) + duration
                if best is None or completion < best:
                    best, best_machine = completion, machine
        if best is None:
            return [], -1, 0
        conflict = [
            j
            for j, k in enumerate(next_op)
            if k < len(jobs[j]) and jobs[j][k][0] == best_machine and self.earliest_start(j) < best
        ]
        return conflict, best_machine, best

    def schedule(self, job: int) -> int:
        """Start ``job``'s next operation as early as it can; its start. No check (``apply`` checks)."""
        k = self.next_op[job]
        machine, duration = self.jobs[job][k]
        start = self.earliest_start(job)
        self.starts[job].append(start)
        self.next_op[job] = k + 1
        self.job_ready[job] = self.machine_free[machine] = start + duration
        self.done += 1
        return start

    def apply(self, decision: object, step: int) -> None:
        """Carry out an untrusted decision (a job index), checking it is in the conflict set."""
        if self.finished():
            raise Infeasible(f"decision {step}: every operation is already scheduled, but the log goes on")
        if decision.__class__ is not int:
            raise Infeasible(f"decision {step}: expected a job index (int), got {_describe(decision)}")
        conflict, machine, completion = self.conflict_set()
        if decision not in conflict:
            raise Infeasible(
                f"decision {step}: job {_describe(decision)} is not a candidate (the conflict set on machine "
                f"{machine} before time {completion} is jobs {conflict})"
            )
        self.schedule(decision)

    def makespan(self) -> int:
        return max(self.job_ready, default=0)


def _describe(value: object) -> str:
    text = repr(value) if value.__class__ is not int or abs(value) < 10**18 else "a huge int"
    return text if len(text) <= 40 else text[:37] + "..."


def replay(jobs: list, machines: int, log: object) -> Shop:
    """The schedule a decision log builds; Infeasible with the first fault."""
    shop = Shop(jobs, machines)
    if log.__class__ is not list:
        raise Infeasible(f"expected a list of {shop.total} job indices, got {_describe(log)}")
    for step, decision in enumerate(log):
        shop.apply(decision, step)
    if not shop.finished():
        raise Infeasible(f"the log schedules {shop.done} of {shop.total} operations")
    return shop


def schedule_error(jobs: list, machines: int, starts: list) -> str:
    """Why ``starts`` (per job, the start of each operation) is not a feasible schedule of ``jobs``: an
    operation before time 0, one starting before its predecessor in the job ends (precedence) or two
    overlapping on a machine (capacity); empty when feasible."""
    if len(starts) != len(jobs) or any(len(s) != len(ops) for s, ops in zip(starts, jobs)):
        return "the schedule does not give one start per operation"
    busy: list[list[tuple[int, int, int, int]]] = [[] for _ in range(machines)]
    for j, ops in enumerate(jobs):
        ready = 0
        for k, ((machine, duration), start) in enumerate(zip(ops, starts[j])):
            if start < ready:
                return f"precedence: job {j} operation {k} starts at {start}, before its predecessor ends ({ready})"
            ready = start + duration
            busy[machine].append((start, start + duration, j, k))
    for machine, intervals in enumerate(busy):
        intervals.sort()
        for (_, end, j, k), (start, _, j2, k2) in zip(intervals, intervals[1:]):
            if start < end:
                return (
                    f"capacity: machine {machine} runs job {j} operation {k} until {end} and job {j2} operation "
                    f"{k2} from {start}"
                )
    return ""


def makespan_of(jobs: list, starts: list) -> int:
    return max((s[-1] + ops[-1][1] for s, ops in zip(starts, jobs) if ops), default=0)
