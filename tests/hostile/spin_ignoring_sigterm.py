# expect: timeout: no answer within
import signal


def schedule(p, w, d):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass
