"""Shortest processing time (SPT): the operation of shortest duration goes first.

Panwalkar & Iskander, "A survey of scheduling rules", Operations Research 25(1), 1977; one of the rules
Zhang et al. compare learned dispatching against on Taillard's instances ("Learning to Dispatch for Job Shop
Scheduling via Deep Reinforcement Learning", NeurIPS 2020). Ties go to the lowest job.
Baseline for the `jobshop` problem: `priority(op, shop)`, the highest value is scheduled.
"""


# EVOLVE-BLOCK-START
def priority(op, shop):
    """Shortest operation first."""
    return -op.duration


# EVOLVE-BLOCK-END
