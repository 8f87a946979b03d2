"""Greedy: spot whenever the trace has it, idle otherwise, on-demand for good once the slack runs out.

The greedy baseline of SkyPilot's "Can't Be Late" (Wu et al., NSDI 2024). The switch comes while one more tick
of waiting could still be survived: with slack below one changeover plus one tick, the next tick could leave
less than one changeover's slack, and on-demand from then on could not finish in time. From there the job runs
on one on-demand instance to the end, so no tick can break the deadline.
"""


# EVOLVE-BLOCK-START
def decide(state):
    """Spot when available, idle otherwise; on-demand to the end once slack < overhead + gap."""
    memory = state.memory
    if memory.get("on_demand_for_good") or state.slack < state.overhead + state.gap:
        memory["on_demand_for_good"] = True
        return "on_demand"
    return "spot" if state.has_spot else "idle"


# EVOLVE-BLOCK-END
