# expect: infeasible: output must be a list
def schedule(p, w, d):
    return {"order": list(range(len(p)))}
