# expect: infeasible: not a job index
def schedule(p, w, d):
    return [float("inf")] + list(range(1, len(p)))
