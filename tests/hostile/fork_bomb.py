# expect: timeout: no answer within
import os


def schedule(p, w, d):
    while True:
        try:
            os.fork()
        except OSError:
            pass
