"""Runs a candidate scheduler over serving instances inside the sandbox. Standard library and the engine only.

Two halves (``evaluators/lockstep.py``): ``drive`` simulates the instance in the sandbox server, which alone
holds the requests' true output lengths and future arrivals, and asks the candidate for every decision;
``play`` runs in the candidate's process, keeps a mirror of the engine fed only with what a scheduler observes
(arrivals as they come, the clock, which requests finished) and calls ``candidate.schedule(state)`` on it. The
simulation's decision log goes back unvalidated, and the trusted verifier replays it on its own copy of the
instance. An infeasible decision ends the instance with ``Infeasible: iteration K: reason``, which the framework
reports as the candidate's error.
"""

from problems.base import PolicyError
from problems.serving.decisions import Reject, from_decision, from_log_entry
from problems.serving.sim import Engine, Infeasible, Workload

MAX_ITERATIONS = 5_000_000


def drive(data: dict):
    """The simulation of ``data`` (see ``lockstep``): yields observations, is sent decisions, returns the log."""
    engine = Engine(Workload.from_data(data))
    # No state published (the policy sees its mirror's) and no log rebuilt: the checked answers are the log.
    steps = engine.steps(MAX_ITERATIONS, publish=False, record=False)
    log = []
    try:
        next(steps)
        answer = yield engine.public(), engine.observation()
        while True:
            try:
                decision = from_log_entry(answer)
            except Reject as bad:
                raise PolicyError(f"Infeasible: iteration {engine.iteration}: {bad}") from None
            log.append(answer)
            steps.send(decision)
            answer = yield engine.observation()
    except StopIteration:
        return log
    except Infeasible as exc:
        raise PolicyError(f"Infeasible: {exc}") from None


def play(candidate: object):
    """The scheduler's side (see ``lockstep``): for each observation, yields a decision
    (``[[[id, tokens], ...], [ids]]``), then applies it to the mirror while the simulation does."""
    schedule = getattr(candidate, "schedule", None)
    if not callable(schedule):
        raise AttributeError("candidate defines no function schedule(state) returning a decision dict or None")
    public, observation = yield
    mirror = Engine.mirror(public)
    while True:
        mirror.learn(observation)
        try:
            chunks, preempts = from_decision(schedule(mirror.state))
        except Reject as bad:
            raise Infeasible(f"iteration {mirror.iteration}: {bad}") from None
        yield [[[rid, tokens] for rid, tokens in chunks], preempts]
        try:
            mirror.apply(chunks, preempts)
        except Reject:
            pass  # the simulation rejects it too, and ends the instance with the reason
        observation = yield
