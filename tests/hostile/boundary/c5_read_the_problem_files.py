# expect: error: nothing of the problem in reach
# Class 5: looks for the problem's files (problem.toml with the splits' seeds, generators, loaders, references,
# the seeds folder, the reference cache) wherever adrs's own modules are, and in a home cache. It looks where they
# would be (beside the packages, in `problems/` and `seeds/`) rather than walking the Python environment, so that
# its answer never depends on how fast the machine lists a virtual environment.
import os
import sys

import evaluators

_WANTED = {"problem.toml", "instances.py", "references.py", "exact.py", "edd.py", "atc.py"}


def _found():
    roots = {os.path.dirname(os.path.dirname(path)) for path in evaluators.__path__}
    roots |= {entry or "." for entry in sys.path if os.path.isdir(os.path.join(entry or ".", "problems"))}
    found = []
    for root in roots:
        found += [os.path.join(root, name) for name in os.listdir(root) if name in _WANTED]
        for place in ("problems", "seeds"):
            for folder, _, files in os.walk(os.path.join(root, place)):
                found += [os.path.join(folder, name) for name in files if name in _WANTED]
                if os.path.basename(folder) == "seeds":
                    found.append(folder)
    cache = os.path.expanduser("~/.cache/adrs")
    return found + ([cache] if os.path.exists(cache) else [])


_FOUND = _found()


def schedule(p, w, d):
    if _FOUND:
        raise RuntimeError(f"ESCAPED: problem files in reach {_FOUND[:3]}")
    raise FileNotFoundError("nothing of the problem in reach")
