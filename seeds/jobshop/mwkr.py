"""Most work remaining (MWKR): the operation whose job has the most processing left (itself included) goes first.

Panwalkar & Iskander, "A survey of scheduling rules", Operations Research 25(1), 1977; the strongest of the
simple rules for the makespan in Zhang et al.'s comparison on Taillard's instances ("Learning to Dispatch for
Job Shop Scheduling via Deep Reinforcement Learning", NeurIPS 2020). Ties go to the lowest job.
Baseline for the `jobshop` problem: `priority(op, shop)`, the highest value is scheduled.
"""


# EVOLVE-BLOCK-START
def priority(op, shop):
    """Most work remaining in the job first."""
    return op.work_remaining


# EVOLVE-BLOCK-END
