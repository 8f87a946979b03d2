"""Most operations remaining (MOR): the operation whose job has the most operations left (itself included) first.

Panwalkar & Iskander, "A survey of scheduling rules", Operations Research 25(1), 1977 (also "MOPNR": most
operations remaining, in Zhang et al., NeurIPS 2020). Ties go to the lowest job.
Baseline for the `jobshop` problem: `priority(op, shop)`, the highest value is scheduled.
"""


# EVOLVE-BLOCK-START
def priority(op, shop):
    """Most operations remaining in the job first."""
    return op.ops_remaining


# EVOLVE-BLOCK-END
