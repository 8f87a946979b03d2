"""On-demand only: the yardstick of the `spot` problem's savings.

Runs one on-demand instance from the first tick to the end: one changeover, never preempted, the job done after
task + overhead, billed for every tick it touches (289 / 290 / 291 ticks of 600 s for a 48 h job and changeover
delays of 0.02 / 0.2 / 0.4 h: $147.39 / 147.90 / 148.41 at $3.06/h, the literature's figures).
"""


# EVOLVE-BLOCK-START
def decide(state):
    """Always on-demand."""
    return "on_demand"


# EVOLVE-BLOCK-END
