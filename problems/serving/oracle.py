"""Reference points for `serving` that no deployable scheduler reaches: trusted code, run in the framework.

- ``oracle_goodput``: the goodput of the Past-Future scheduler (``seeds/serving/past_future.py``) told every
  request's true output length, without its reserve. Its admission check is then exact: it admits exactly
  what the cache can carry to completion and never preempts. It is not a proof of optimality (admission stays
  first-come-first-served, prefills are not chunked, and under this engine's SLOs a preemption costs so little
  that admitting aggressively can beat it); docs/serving.md, "Baselines and bounds", has where baselines do.
- ``arrival_rate_bound``: requests per second of the arrival window, the goodput of a server that meets every
  SLO of every request: a true upper bound.
"""

from __future__ import annotations

import types
from collections.abc import Callable

from problems.base import seed_module
from problems.serving.sim import Workload, metrics, simulate

PAST_FUTURE = "serving/past_future.py"


def _past_future_module() -> types.ModuleType:
    """A fresh module of the Past-Future seed (each oracle patches its own)."""
    return seed_module(PAST_FUTURE, "serving_past_future_oracle")


def oracle_policy(workload: Workload) -> Callable:
    """Past-Future's ``schedule`` with its output-length estimate replaced by the truth of ``workload``."""
    module = _past_future_module()
    output = [int(n) for n in workload.output]

    def true_output(request, state, draw: int = 0) -> int:
        return output[request.id]

    module.estimate_output = true_output
    module.RESERVE = 0.0  # exact lengths need no margin
    return module.schedule


def oracle_goodput(workload: Workload) -> float:
    """Goodput (requests per second meeting both SLOs) of Past-Future with the true output lengths."""
    return float(metrics(workload, simulate(workload, oracle_policy(workload)))["goodput"])


def arrival_rate_bound(workload: Workload) -> float:
    """Requests per second of the arrival window: no scheduler's goodput exceeds it."""
    return len(workload.arrivals) / workload.duration if workload.duration > 0 else 0.0
