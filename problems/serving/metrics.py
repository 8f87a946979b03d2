"""What a run of the serving engine did (``Outcome``) and every metric of docs/serving.md computed from it.

Standard library only (the engine, which the sandbox imports, builds an ``Outcome``); the verifier's scores
come from ``metrics``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from problems.serving.workload import Workload


@dataclass
class Outcome:
    """What a simulation did, enough to compute every metric; equal outcomes mean identical runs.

    Attributes:
        first_token, finish: clock at each request's first token and last token (None if it never came).
        preemptions, generated: per request, times preempted and output tokens produced.
        max_gap: per request, the largest time between two consecutive tokens (0 with fewer than two).
        iterations: scheduler calls; decode_batch_sum: decoding requests summed over iterations.
        clock: the clock when the run ended.
        log: one entry per scheduler call, `[[[id, tokens], ...], [preempted ids]]`, plain ints.
    """

    first_token: list[float | None]
    finish: list[float | None]
    preemptions: list[int]
    generated: list[int]
    max_gap: list[float]
    iterations: int
    decode_batch_sum: int
    clock: float
    log: list


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), so figures match a numpy cross-check."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def metrics(workload: Workload, outcome: Outcome) -> dict[str, float]:
    """Every metric of docs/serving.md, "Metrics", from what the run did; the verifier's scores come from here."""
    good = good_gap = finished = 0
    ttfts, tpots = [], []
    rows = zip(workload.arrivals, workload.output, outcome.first_token, outcome.finish, outcome.max_gap)
    for arrival, out, first, finish, gap in rows:
        ttft = (workload.horizon if first is None else first) - arrival
        ttfts.append(ttft)
        if finish is None:
            continue
        finished += 1
        tpot = (finish - first) / (out - 1) if out > 1 else 0.0
        if out > 1:
            tpots.append(tpot)
        if ttft <= workload.slo_ttft and tpot <= workload.slo_tpot:
            good += 1
        if ttft <= workload.slo_ttft and gap <= workload.slo_max_gap:
            good_gap += 1
    n, duration = len(workload.arrivals), workload.duration
    return {
        "goodput": good / duration,
        "p99_ttft": _percentile(ttfts, 0.99),
        "p99_tpot": _percentile(tpots, 0.99),
        "goodput_max_gap": good_gap / duration,
        "attainment": good / n if n else 0.0,
        "throughput": finished / duration,
        "tokens_per_s": sum(outcome.generated) / duration,
        "preemptions": float(sum(outcome.preemptions)),
        "mean_batch": outcome.decode_batch_sum / outcome.iterations if outcome.iterations else 0.0,
        "unfinished": float(n - finished),
        "requests": float(n),
    }
