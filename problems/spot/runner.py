"""Runs a candidate policy over spot scenarios inside the sandbox. Standard library and the engine only.

Two halves (``evaluators/lockstep.py``): ``drive`` simulates the scenario in the sandbox server, which alone
holds the availability traces, and asks the candidate for each tick's action; ``play`` runs in the candidate's
process, where a mirror of the engine learns the traces one tick at a time (so ``state.history`` and
``state.spot`` hold the past and the present, never the future) and calls ``candidate.decide(state)``. The
action log goes back unvalidated, and the trusted verifier replays it on its own copy of the scenario. Spot taken
where the trace has none ends the run there with the offending action last in the log, so that the verifier
names it; something that is not an action at all raises ``ActionError``, reported as the candidate's error.
"""

from problems.base import PolicyError
from problems.spot import sim


def drive(data: dict):
    """The simulation of ``data`` (see ``lockstep``): yields observations, is sent action codes, returns the log."""
    scenario = sim.Scenario.from_data(data)
    ticks = sim.steps(scenario)
    top = 2 * scenario.zones
    try:
        t = next(ticks)
        code = yield sim.public(scenario), sim.observed(scenario, t)
        while True:
            if type(code) is not int or not 0 <= code <= top:
                raise PolicyError(f"tick {t}: the policy's side sent {str(code)[:60]!r}, not an action code")
            t = ticks.send(code)
            code = yield sim.observed(scenario, t)
    except StopIteration as done:
        return done.value.log
    except sim.Infeasible as exc:
        return exc.log


def play(candidate: object):
    """The policy's side (see ``lockstep``): for each tick observed, yields an action code, then pauses."""
    decide = getattr(candidate, "decide", None)
    if not callable(decide):
        raise AttributeError("candidate defines no function decide(state) returning an action")
    known, observation = yield
    scenario = sim.mirror(known)
    sim.learn(scenario, observation)
    state = sim.State(scenario)
    ticks = sim.steps(scenario, state)
    choose = sim.chooser(state, decide)
    t = next(ticks)
    while True:
        code = choose(t)
        yield code
        observation = yield  # the mirror's step needs the next tick's availability: nothing to do before it
        sim.learn(scenario, observation)
        t = ticks.send(code)
