"""Reference points for `serving` that no deployable scheduler reaches: trusted code, run in the framework.

- ``oracle_goodput``: the goodput of a scheduler told every request's true output length. It batches as
  Sarathi-Serve does (``seeds/serving/sarathi.py``: a 512-token budget per iteration, decodes first, prefill
  chunks in arrival order) and admits as Past-Future does (``seeds/serving/past_future.py``), with the exact
  future in place of a draw: a request joins only if the batch's peak KV use, now known, fits the cache. It
  never preempts. It is not a proof of optimality (admission stays first-come-first-served);
  docs/serving.md, "Baselines and bounds", has where it stands against the baselines.
- ``arrival_rate_bound``: requests per second of the arrival window, the goodput of a server that meets every
  SLO of every request: a true upper bound.
"""

from __future__ import annotations

from collections.abc import Callable

from problems.base import seed_module
from problems.serving.sim import Workload, metrics, simulate

TOKEN_BUDGET = 512  # Sarathi-Serve's, so that the oracle differs from it only by what it knows
MAX_NUM_SEQS = 256
SEEDS = ("serving/sarathi.py", "serving/past_future.py")  # the baselines' code it reuses (references.py hashes it)


def oracle_policy(workload: Workload) -> Callable:
    """A ``schedule`` that knows the true output lengths of ``workload``."""
    sarathi = seed_module(SEEDS[0], "serving_sarathi_oracle")
    peak_blocks = seed_module(SEEDS[1], "serving_past_future_oracle").peak_blocks
    output = [int(n) for n in workload.output]
    bs = workload.block_size

    def load(request) -> tuple[int, int]:
        # Tokens it holds once prefilled and its next token is out, and tokens it still generates after that.
        return request.prompt_tokens + request.generated + 1, output[request.id] - request.generated - 1

    def schedule(state) -> dict:
        running = list(state.running)
        chunks, left, added, _ = sarathi.plan_running(running, TOKEN_BUDGET, bs)
        if added > state.free_blocks:  # cannot happen while admission is exact; kept as the engine's rule
            return sarathi.schedule(state)
        loads = [load(r) for r in running]
        for r in state.waiting:
            if left <= 0 or len(loads) >= MAX_NUM_SEQS:
                break
            if peak_blocks([*loads, load(r)], bs) > state.total_blocks:
                break
            chunks[r.id] = min(r.remaining_prefill, left)
            left -= chunks[r.id]
            loads.append(load(r))
        return {"prefill": chunks, "preempt": []}

    return schedule


def oracle_goodput(workload: Workload) -> float:
    """Goodput (requests per second meeting both SLOs) of the scheduler that knows the true output lengths."""
    return float(metrics(workload, simulate(workload, oracle_policy(workload)))["goodput"])


def arrival_rate_bound(workload: Workload) -> float:
    """Requests per second of the arrival window: no scheduler's goodput exceeds it."""
    return len(workload.arrivals) / workload.duration if workload.duration > 0 else 0.0
