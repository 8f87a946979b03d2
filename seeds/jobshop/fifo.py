"""First in, first out (FIFO): the operation that has waited longest in the machine's queue goes first.

A classic dispatching rule (Panwalkar & Iskander, "A survey of scheduling rules", Operations Research 25(1),
1977; rule "FCFS"). An operation joins its machine's queue when the job's previous operation ends
(``op.job_ready``; 0 for a first operation); ties go to the lowest job.
Baseline for the `jobshop` problem: `priority(op, shop)`, the highest value is scheduled.
"""


# EVOLVE-BLOCK-START
def priority(op, shop):
    """Earliest arrival in the queue first."""
    return -op.job_ready


# EVOLVE-BLOCK-END
