"""Reference points for `serving` that no deployable scheduler reaches: trusted code, run in the framework.

- ``oracle_goodput``: the goodput of a scheduler told every request's true output length. Its batches are
  SLO-aware's (``seeds/serving/slo_aware.py``: each iteration's prefill cut to keep its predicted time within
  80% of the TPOT SLO); what it knows changes whom it serves and how much memory it commits:
  - order: the waiting requests that can still meet their TTFT, cheapest first, where a request's cost is the
    KV cache it will hold over its life (tokens held x iterations: ``(context + remaining / 2) * remaining``,
    known only with the true output); then, oldest first, those that cannot (served when nothing feasible
    waits);
  - memory: a request joins only if the batch's peak KV use, exactly known (``past_future.peak_blocks``), fits
    the cache; it never preempts.
  It is not a proof of optimality (a greedy order, whole-window horizon ignored); docs/serving.md, "Baselines
  and bounds", has where it stands against the baselines.
- ``arrival_rate_bound``: requests per second of the arrival window, the goodput of a server that meets every
  SLO of every request: a true upper bound.
"""

from __future__ import annotations

from collections.abc import Callable

from problems.base import seed_module
from problems.serving.sim import Workload, metrics, simulate

TPOT_SHARE = 0.8  # SLO-aware's, so that the oracle differs from it only by what it knows
MAX_NUM_SEQS = 256
SEEDS = ("serving/slo_aware.py", "serving/past_future.py")  # the baselines' code it reuses (references.py hashes it)


def oracle_policy(workload: Workload) -> Callable:
    """A ``schedule`` that knows the true output lengths of ``workload``."""
    slo_aware = seed_module(SEEDS[0], "serving_slo_aware_oracle")
    peak_blocks = seed_module(SEEDS[1], "serving_past_future_oracle").peak_blocks
    output = [int(n) for n in workload.output]
    bs = workload.block_size

    def load(request) -> tuple[int, int]:
        # Tokens it holds once prefilled and its next token is out, and tokens it still generates after that.
        return request.prompt_tokens + request.generated + 1, output[request.id] - request.generated - 1

    def life_cost(request) -> float:
        remaining = output[request.id] - request.generated
        return (request.context_tokens + remaining / 2) * remaining

    def schedule(state) -> dict:
        cost, target = state.cost, TPOT_SHARE * state.slo_tpot
        running = list(state.running)
        chunks, plan, added, _ = slo_aware.plan_running(cost, running, target, bs)
        if added > state.free_blocks:  # cannot happen while admission is exact; kept as the engine's rule
            return slo_aware.schedule(state)
        prefill_done = slo_aware.prefill_finish(cost, running, state.clock, target)
        ahead = sum(r.remaining_prefill for r in running)
        feasible, late = [], []
        for r in sorted(state.waiting, key=life_cost):
            deadline = r.arrival + state.slo_ttft
            if deadline > state.clock and prefill_done(ahead + r.context_tokens) <= deadline:
                feasible.append(r)
                ahead += r.context_tokens
            else:
                late.append(r)
        late.sort(key=lambda r: r.id)
        loads = [load(r) for r in running]
        for r in feasible + late:
            if len(loads) >= MAX_NUM_SEQS or peak_blocks([*loads, load(r)], bs) > state.total_blocks:
                break
            chunk = slo_aware.largest_chunk(cost, plan, 0, r.remaining_prefill, target)
            if chunk == 0:
                break
            slo_aware.add_chunk(plan, 0, chunk)
            chunks[r.id] = chunk
            loads.append(load(r))
        return {"prefill": chunks, "preempt": []}

    return schedule


def oracle_goodput(workload: Workload) -> float:
    """Goodput (requests per second meeting both SLOs) of the scheduler that knows the true output lengths."""
    return float(metrics(workload, simulate(workload, oracle_policy(workload)))["goodput"])


def arrival_rate_bound(workload: Workload) -> float:
    """Requests per second of the arrival window: no scheduler's goodput exceeds it."""
    return len(workload.arrivals) / workload.duration if workload.duration > 0 else 0.0
