"""Initial program for evolving a job-shop dispatching rule (the `jobshop` problem): a weighted composite.

Called for each operation of a Giffler-Thompson conflict set, highest value first (ties: the lowest job). It
starts as most work remaining (MWKR; Panwalkar & Iskander, Operations Research 25(1), 1977), the strongest simple
rule for the makespan, with small weights on the operation's duration (SPT) and on how long the machine would
idle for it, so ties and near-ties go to the short operation that can start now. Room for evolution: the
weights, the job's next machine and its queue (``shop.jobs``, ``op.next_machine``), the machine's load
(``op.machine_load``), look-ahead on the instance, the progress of the schedule (``shop.done / shop.total``).
"""

# EVOLVE-BLOCK-START
WORK_WEIGHT = 1.0  # weight of the job's work remaining (MWKR)
DURATION_WEIGHT = 0.1  # penalty per unit of the operation's duration (SPT)
IDLE_WEIGHT = 0.2  # penalty per unit of idle time the machine would have before the operation starts


def priority(op, shop):
    """Higher is scheduled first."""
    idle = op.earliest_start - shop.time
    return WORK_WEIGHT * op.work_remaining - DURATION_WEIGHT * op.duration - IDLE_WEIGHT * idle


# EVOLVE-BLOCK-END
