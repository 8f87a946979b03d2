"""Weighted Modified Due Date (WMDD) dispatching (Kanet & Li, 2004).

At time t start the waiting job with the smallest max(p_j, d_j - t) / w_j. With all weights 1 this is the
Modified Due Date rule of Baker & Bertrand (1982), which picks the smallest max(d_j, t + p_j) (the same
order, shifted by t). Baseline for the `tardiness` problem: `schedule(p, w, d)` returns the job order.
"""


# EVOLVE-BLOCK-START
def priority(pj, wj, dj, t, p_mean):
    """Priority of a waiting job at time t (higher starts first): minus its weighted modified due date."""
    return -max(pj, dj - t) / max(wj, 1e-9)


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
