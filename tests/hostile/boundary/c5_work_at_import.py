# expect: ok
# Class 5: 0.6 s of work when the program loads, none in the calls: loading is timed and charged to the instances.
import time

_started = time.perf_counter()
while time.perf_counter() - _started < 0.6:
    pass


def schedule(p, w, d):
    return sorted(range(len(p)), key=lambda j: d[j])
