"""Round-robin Uniform Progress: the multi-region baseline of SkyPilot's spot-scheduling work.

Uniform Progress (see uniform_progress.py) that, like a controller that can probe one region at a time, looks
only at the spot availability of its current zone; when that zone has no spot it moves on to the next zone (in
a fixed cycle) for the following tick. It moves only while not running on-demand, since moving an instance is a
changeover. With one zone it is exactly Uniform Progress.
"""


# EVOLVE-BLOCK-START
def decide(state):
    """Uniform Progress in the current zone; without spot there, probe the next zone next tick."""
    memory = state.memory
    zone = state.zone
    if memory.get("safety_net"):
        return ("on_demand", zone)
    if state.instance != "spot" and state.slack < 2 * state.overhead + state.gap:
        memory["safety_net"] = True
        return ("on_demand", zone)
    if state.has_spot:
        return ("spot", zone)
    pace = state.task / state.deadline
    if state.instance == "on_demand" and state.done < pace * (state.elapsed + 2 * state.overhead):
        return ("on_demand", zone)
    if state.done < pace * state.elapsed:
        return ("on_demand", zone)
    return ("idle", (zone + 1) % state.zones)


# EVOLVE-BLOCK-END
