# expect: timeout: no answer within
import sys


def schedule(p, w, d):
    while True:
        sys.stdout.write("spam " * 1000)
        sys.stderr.write("eggs " * 1000)
