# expect: infeasible: expected
def schedule(p, w, d):
    return list(range(len(p))) * 200_000
