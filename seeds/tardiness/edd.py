"""Earliest Due Date (EDD): process jobs in order of non-decreasing due date (Jackson, 1955).

Optimal for maximum lateness; for total tardiness it is a fast, weak rule that ignores weights and lengths.
Baseline for the `tardiness` problem: `schedule(p, w, d)` returns the job indices in processing order.
"""


# EVOLVE-BLOCK-START
def priority(pj, wj, dj, t, p_mean):
    """Priority of a waiting job at time t (higher starts first): the earlier the due date, the sooner."""
    return -dj


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
