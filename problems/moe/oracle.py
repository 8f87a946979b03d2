"""The foresight reference of ``moe``: EPLB planned on the very window it is judged on. Trusted code, run in the
framework process.

No deployable rebalancer sees the next window, so this shows what prediction costs: the gap between a plan
made from the history and the same algorithm's plan made from the future. It is not a bound (a better packer
beats it); ``plan.judge``'s ``balancedness_bound`` is.
"""

from __future__ import annotations

import functools
import types

from problems.base import seed_module
from problems.moe.instances import MoeInstance
from problems.moe.plan import judge, parse_plan

EPLB = "moe/eplb_global.py"  # global where the instance allows it, hierarchical where it asks for the hierarchy


@functools.lru_cache(maxsize=1)
def _eplb_module() -> types.ModuleType:
    return seed_module(EPLB, "moe_eplb_oracle")


def foresight_metrics(instance: MoeInstance) -> dict[str, float]:
    """Metrics of EPLB's plan computed on the instance's next window itself."""
    future = instance.next_window()
    output = _eplb_module().rebalance(future[None], dict(instance.data["cluster"]))
    plain = {key: value.tolist() for key, value in output.items()}
    cluster, hierarchical = instance.cluster(), instance.hierarchical()
    return judge(parse_plan(plain, cluster, hierarchical), future, cluster, hierarchical)
