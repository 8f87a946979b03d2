# expect: error: Error
def schedule(p, w, d):
    open("/usr/lib/owned-by-candidate", "w").write("x")
    return list(range(len(p)))
