"""Building block for the `tardiness` problem's `component` mutator: an improvement step after dispatching.

Adjacent pairwise interchange (Potts & Van Wassenhove, 1991, among others): sweep the order, swap two
neighbours whenever that lowers their weighted tardiness (the rest of the schedule is unchanged by such a
swap), and sweep again until a sweep changes nothing. O(n) per sweep.
"""


# EVOLVE-BLOCK-START
def improve(order, p, w, d):
    """Adjacent pairwise interchange until no swap of neighbours lowers the weighted tardiness."""
    order = list(order)
    changed = True
    while changed:
        changed = False
        t = 0
        for k in range(len(order) - 1):
            a, b = order[k], order[k + 1]
            kept = w[a] * max(0, t + p[a] - d[a]) + w[b] * max(0, t + p[a] + p[b] - d[b])
            swapped = w[b] * max(0, t + p[b] - d[b]) + w[a] * max(0, t + p[a] + p[b] - d[a])
            if swapped < kept:
                order[k], order[k + 1] = b, a
                changed = True
            t += p[order[k]]
    return order


# EVOLVE-BLOCK-END
