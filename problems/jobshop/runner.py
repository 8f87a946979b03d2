"""Runs a candidate priority rule over a job-shop instance inside the sandbox. Standard library only.

Two halves (``evaluators/lockstep.py``). ``play`` runs in the candidate's process: it is sent the whole instance
(a static job shop is fully known to any real dispatcher), builds the Giffler-Thompson active schedule on its own
mirror (``shop.py``), calling the candidate's ``priority(op, shop)`` for each operation of every conflict set
(``views.py``), and answers with the whole decision log, one job index per operation. ``drive`` runs in the
sandbox server: it replays that log on its own ``Shop``, checking that every decision is in the conflict set
at its step, and returns the log; the trusted verifier replays it once more and computes the makespan itself.

Why one round per instance rather than one per decision: the instance holds nothing hidden and the schedule's
state follows from the decisions alone, so a round per decision would show the policy nothing it cannot compute,
at the cost of a round trip each (hundreds to a thousand per instance here). The trusted side stays in control:
it accepts no state from the candidate, only choices, each checked against its own conflict set, and the first
choice outside it ends the instance with one line naming the step, the job and the candidates.
"""

from problems.base import PolicyError
from problems.jobshop.shop import Infeasible, Shop, replay
from problems.jobshop.views import ShopView, best


def drive(data: dict):
    """The trusted half (see ``lockstep``): sends the instance, is sent the decision log, checks it, returns it."""
    log = yield {"jobs": data["jobs"], "machines": data["machines"]}
    try:
        replay(data["jobs"], data["machines"], log)
    except Infeasible as exc:
        raise PolicyError(str(exc)) from None
    return log


def play(candidate: object):
    """The policy's half (see ``lockstep``): is sent the instance, yields the whole decision log."""
    priority = getattr(candidate, "priority", None)
    if not callable(priority):
        raise AttributeError("candidate defines no function priority(op, shop)")
    observation = yield
    while True:
        yield schedule(observation["jobs"], observation["machines"], priority)
        observation = yield


def schedule(jobs: list, machines: int, priority) -> list[int]:
    """The decision log of the active schedule ``priority`` builds (module docstring)."""
    shop, view = Shop(jobs, machines), ShopView(jobs, machines)
    log = []
    while not shop.finished():
        conflict, _, completion = shop.conflict_set()
        job = conflict[0] if len(conflict) == 1 else best(view.observe(shop, conflict, completion), view, priority)
        view.record(job, shop.next_op[job])
        shop.schedule(job)
        log.append(job)
    return log
