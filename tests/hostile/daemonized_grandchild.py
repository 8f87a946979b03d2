# expect: ok|error: Resource temporarily unavailable
import os


def schedule(p, w, d):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/usr/bin/sleep", ["sleep", "4301"])
        os._exit(0)
    return sorted(range(len(p)), key=lambda j: d[j])
