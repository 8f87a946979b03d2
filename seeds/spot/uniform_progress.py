"""Uniform Progress: the policy of SkyPilot's "Can't Be Late" (Wu et al., NSDI 2024), in its own zone.

Expected progress ep(t) = t * task / deadline is the line a job making uniform progress follows. The four rules:

1. Uniform progress: behind the line (done < ep(t)) and without spot, run on-demand to catch up.
2. Taking risks: take any available spot, even when behind; keep it until it is preempted.
3. Hysteresis: once on on-demand, stay on it while done < ep(t + 2 * overhead) (ahead by two changeovers'
   worth); hysteresis only chooses between staying on on-demand and idling, it never refuses spot.
4. Safety net: when not on spot and the slack is below two changeovers plus one tick, run on-demand to the end.

The paper's net is "slack < 2 * overhead" while idle; acting only at tick boundaries, that misses deadlines by
minutes (21 of the literature's 1,080 scenarios), so this one allows for the tick and also covers on-demand.
Spot started with at least 2d + gap of slack loses at most d of it to its changeover, so a preemption always
leaves more than d: enough to finish on on-demand (docs/spot.md).
"""


# EVOLVE-BLOCK-START
def decide(state):
    """The four rules of Uniform Progress, in the current zone."""
    memory = state.memory
    if memory.get("safety_net"):
        return "on_demand"
    if state.instance != "spot" and state.slack < 2 * state.overhead + state.gap:
        memory["safety_net"] = True  # rule 4
        return "on_demand"
    if state.has_spot:
        return "spot"  # rule 2
    pace = state.task / state.deadline
    if state.instance == "on_demand" and state.done < pace * (state.elapsed + 2 * state.overhead):
        return "on_demand"  # rule 3
    if state.done < pace * state.elapsed:
        return "on_demand"  # rule 1
    return "idle"


# EVOLVE-BLOCK-END
