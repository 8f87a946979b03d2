# expect: error: RecursionError
def dive(n):
    return dive(n + 1) + 1


def schedule(p, w, d):
    return dive(0)
