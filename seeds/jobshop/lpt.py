"""Longest processing time (LPT): the operation of longest duration goes first.

Panwalkar & Iskander, "A survey of scheduling rules", Operations Research 25(1), 1977. Ties go to the lowest
job. Baseline for the `jobshop` problem: `priority(op, shop)`, the highest value is scheduled.
"""


# EVOLVE-BLOCK-START
def priority(op, shop):
    """Longest operation first."""
    return op.duration


# EVOLVE-BLOCK-END
