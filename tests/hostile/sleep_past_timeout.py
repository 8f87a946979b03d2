# expect: timeout: no answer within
import time


def schedule(p, w, d):
    time.sleep(3600)
    return list(range(len(p)))
