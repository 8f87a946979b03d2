"""Runs a candidate policy over one scenario inside the sandbox. Standard library and the engine only.

The engine calls ``candidate.decide(state)`` every tick and records its actions; the log goes back unvalidated,
and the trusted verifier replays it on its own copy of the scenario. Spot taken where the trace has none ends
the run there with the offending action last in the log, so that the verifier names it; something that is not
an action at all raises ``ActionError``, reported as the candidate's error.
"""

from evaluators import spot_sim


def run(candidate: object, data: dict) -> list:
    """Simulate the scenario ``data`` with ``candidate.decide`` as the policy; return the action log."""
    decide = getattr(candidate, "decide", None)
    if not callable(decide):
        raise AttributeError("candidate defines no function decide(state) returning an action")
    scenario = spot_sim.Scenario.from_data(data)
    try:
        return spot_sim.simulate(scenario, decide).log
    except spot_sim.Infeasible as exc:
        return exc.log
