# expect: error: exceed
# Class 7: every answer just under the per-instance output limit, so that the request as a whole is far over it.
def schedule(p, w, d):
    return [0] * 300_000
