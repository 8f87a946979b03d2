"""Initial program for evolving a deadline-aware spot policy (the `spot` problem).

Uniform Progress (Wu et al., "Can't Be Late", NSDI 2024) with its numbers as literals to tune, and one step
beyond it: when the current zone has no spot but another zone has, it moves there. Expected progress is a line
from 0 to the task at the deadline; behind it the job catches up on on-demand, and once on on-demand it stays
until ahead by a margin of changeovers. Room for evolution: the pace of the line, the margin, when a spot is
worth its changeover, which zone to prefer, using the availability history.

`decide(state)` is the entry point. It keeps the evolved `choose` away from the deadline with a safety net
that no choice can break: once the slack is under two changeovers plus one tick, anything but keeping a
running spot instance becomes on-demand to the end (why that always finishes: docs/spot.md).
"""


def keeps_running_spot(state, action):
    """Whether the action keeps the spot instance that is running now (same zone, no changeover)."""
    if state.instance != "spot":
        return False
    if isinstance(action, str):
        return action == "spot"
    return isinstance(action, (tuple, list)) and len(action) == 2 and action[0] == "spot" and action[1] == state.zone


def decide(state):
    """The evolved choice, overruled by the safety net near the deadline."""
    memory = state.memory
    if not memory.get("safety_net"):
        action = choose(state)
        if state.slack >= 2 * state.overhead + state.gap or keeps_running_spot(state, action):
            return action
        memory["safety_net"] = True
    return ("on_demand", state.zone)


# EVOLVE-BLOCK-START
def choose(state):
    """Spot where there is some (this zone first), else on-demand when behind a uniform pace, else idle."""
    if state.has_spot:
        return "spot"
    for zone in range(state.zones):
        if state.spot[zone]:
            return ("spot", zone)
    pace = 1.0 * state.task / state.deadline  # progress per second of the uniform line
    expected = pace * state.elapsed
    if state.instance == "on_demand" and state.done < expected + 2.0 * pace * state.overhead:
        return "on_demand"
    if state.done < expected:
        return "on_demand"
    return "idle"


# EVOLVE-BLOCK-END
