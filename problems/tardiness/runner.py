"""Runs a candidate on one instance inside the sandbox. Standard library only: nothing else is trusted there.

The result goes back unvalidated; the trusted verifier judges it.
"""


def run(candidate: object, data: dict) -> object:
    """Call ``candidate.schedule(p, w, d)`` and return its job order as plain data."""
    schedule = getattr(candidate, "schedule", None)
    if not callable(schedule):
        raise AttributeError("candidate defines no function schedule(p, w, d) returning a list of job indices")
    result = schedule(list(data["p"]), list(data["w"]), list(data["d"]))
    if hasattr(result, "tolist"):  # numpy arrays and scalars become plain Python data
        result = result.tolist()
    if isinstance(result, (str, bytes, dict)) or not hasattr(result, "__iter__"):
        return result  # not a sequence: passed through so the verifier can say what it is
    return list(result)
