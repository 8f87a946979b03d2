"""Least operations remaining (LOR): the operation whose job has the fewest operations left (itself included)
first, finishing nearly done jobs.

Panwalkar & Iskander, "A survey of scheduling rules", Operations Research 25(1), 1977. Ties go to the lowest
job. Baseline for the `jobshop` problem: `priority(op, shop)`, the highest value is scheduled.
"""


# EVOLVE-BLOCK-START
def priority(op, shop):
    """Fewest operations remaining in the job first."""
    return -op.ops_remaining


# EVOLVE-BLOCK-END
