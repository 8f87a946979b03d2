"""Apparent Tardiness Cost (ATC) dispatching (Vepsalainen & Morton, 1987).

At time t start the waiting job of largest w_j / p_j * exp(-max(d_j - p_j - t, 0) / (k * p_mean)), where
p_mean is the mean processing time of the waiting jobs and k = 2 the look-ahead parameter. The code uses the
logarithm of that index: the same order, without the exponential underflowing to a tie on loose due dates.
Baseline for the `tardiness` problem: `schedule(p, w, d)` returns the job indices in processing order.
"""

import math


# EVOLVE-BLOCK-START
def priority(pj, wj, dj, t, p_mean):
    """Priority of a waiting job at time t (higher starts first): log of its apparent tardiness cost."""
    look_ahead = 2.0
    slack = max(dj - pj - t, 0)
    return math.log(max(wj, 1e-9) / max(pj, 1e-9)) - slack / (look_ahead * p_mean)


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
