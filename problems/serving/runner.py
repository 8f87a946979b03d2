"""Runs a candidate scheduler over one instance inside the sandbox. Standard library and the engine only.

The engine calls ``candidate.schedule(state)`` every iteration and records its decisions; the log goes back
unvalidated, and the trusted verifier replays it on its own copy of the instance. An infeasible decision stops
the run here with ``Infeasible: iteration K: reason``, which the framework reports as the candidate's error.
"""

from evaluators import serving_sim


def run(candidate: object, data: dict) -> list:
    """Simulate the instance ``data`` with ``candidate.schedule`` as the scheduler; return the decision log."""
    schedule = getattr(candidate, "schedule", None)
    if not callable(schedule):
        raise AttributeError("candidate defines no function schedule(state) returning a decision dict or None")
    workload = serving_sim.Workload.from_data(data)
    return serving_sim.simulate(workload, schedule).log
