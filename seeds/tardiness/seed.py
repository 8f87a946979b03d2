"""Initial program for evolving a dispatching rule for 1||Σw_jT_j (the `tardiness` problem).

A deliberately untuned relative of Apparent Tardiness Cost (Vepsalainen & Morton, 1987): the log of the ATC
index with a far too long look-ahead (8 mean job lengths instead of about 2), plus an earliest-due-date term
with its own weight. Its gap to the optimum is several times ATC's on the train and test splits, so tuning the
constants, reshaping the formula or replacing the dispatcher all have room to improve it.
`schedule(p, w, d)` returns the job indices in processing order; only the block below is meant to evolve.
"""

import math


# EVOLVE-BLOCK-START
def priority(pj, wj, dj, t, p_mean):
    """Priority of a waiting job at time t (higher starts first).

    pj, wj, dj: the job's processing time, weight and due date; p_mean: mean processing time of waiting jobs.
    """
    look_ahead = 8.0
    ratio_weight = 1.0
    due_weight = 0.1
    slack = max(dj - pj - t, 0)
    urgency = ratio_weight * math.log(max(wj, 1e-9) / max(pj, 1e-9)) - slack / (look_ahead * p_mean)
    return urgency - due_weight * dj / p_mean


def improve(order, p, w, d):
    """A pass over the dispatched order before it is returned (none here: the rule's order as it is)."""
    return order


# EVOLVE-BLOCK-END


def schedule(p, w, d):
    """Dispatch jobs one at a time: whenever the machine frees up, start the waiting job of highest priority.

    p, w, d: processing times, weights and due dates (lists of ints). Returns job indices in processing order.
    Ties go to the lowest job index. ``improve`` may then rework the order.
    """
    waiting = list(range(len(p)))
    t = 0
    work_left = sum(p)
    order = []
    while waiting:
        p_mean = max(work_left / len(waiting), 1e-9)  # mean processing time of the jobs still waiting
        best = max(waiting, key=lambda j: priority(p[j], w[j], d[j], t, p_mean))
        waiting.remove(best)
        order.append(best)
        t += p[best]
        work_left -= p[best]
    return improve(order, p, w, d)
