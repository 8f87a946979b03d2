"""FDD/MWKR: the smallest ratio of the flow due date to the work remaining goes first (a composite rule).

Sels, Gheysen & Vanhoucke, "A comparison of priority rules for the job shop scheduling problem under different
flow time- and tardiness-related objective functions", International Journal of Production Research 50(15),
2012; one of the four rules Zhang et al. compare learned dispatching against ("Learning to Dispatch for Job Shop
Scheduling via Deep Reinforcement Learning", NeurIPS 2020). The flow due date of an operation is its job's
release (0 here) plus the processing of the job up to and including the operation; the work remaining is that
of the operation and the job's later ones. Ties go to the lowest job.
Baseline for the `jobshop` problem: `priority(op, shop)`, the highest value is scheduled.
"""


# EVOLVE-BLOCK-START
def priority(op, shop):
    """Smallest flow due date / work remaining first."""
    flow_due_date = op.work_done + op.duration
    return -flow_due_date / op.work_remaining


# EVOLVE-BLOCK-END
