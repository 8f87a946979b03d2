# expect: error: cannot import name 'instances'|No module named
# Class 5: regenerates the splits, with their references, from the project's own generator at load time.
from problems.tardiness import instances

_TRAIN = instances


def schedule(p, w, d):
    return sorted(range(len(p)), key=lambda j: d[j])
