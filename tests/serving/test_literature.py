"""The literature's orderings on the problem's named settings, the instances `adrs bench serving --split lit-*`
scores (docs/serving.md, "The literature's orderings"). Each policy runs in-process on each instance of the split;
figures are means over the split's instances."""

from __future__ import annotations

import functools

import pytest

from problems.base import seed_module
from problems.registry import load
from problems.serving.sim import Workload, metrics, simulate


@functools.cache
def _mean(split: str, policy: str) -> dict[str, float]:
    runs = []
    for instance in load("serving").instances(split):
        w = Workload.from_data(instance.data)
        runs.append(metrics(w, simulate(w, seed_module(f"serving/{policy}.py", policy).schedule)))
    return {name: sum(m[name] for m in runs) / len(runs) for name in runs[0]}


def test_sarathi_bounds_the_stalls_that_whole_prefills_cause_at_long_prompts():
    # Sarathi-Serve (OSDI'24): chunked prefills keep decodes flowing; its capacity is under a P99 TBT SLO.
    sarathi, vllm = _mean("lit-sarathi", "sarathi"), _mean("lit-sarathi", "fcfs_watermark")
    assert sarathi["goodput_max_gap"] > 3 * vllm["goodput_max_gap"]  # stalls of a whole 8k-token prefill
    assert sarathi["p99_tpot"] < 0.9 * vllm["p99_tpot"]
    assert sarathi["goodput"] == pytest.approx(vllm["goodput"], rel=0.05)  # under a mean TPOT, a tie


@pytest.mark.xfail(
    strict=True,
    reason="vLLM's default prefills a whole prompt as soon as it fits, so its first tokens come sooner; the paper's "
    "gain is in time between tokens (docs/serving.md, 'The literature's orderings')",
)
def test_sarathi_has_a_lower_p99_ttft_than_vllm_at_long_prompts():
    assert _mean("lit-sarathi", "sarathi")["p99_ttft"] < _mean("lit-sarathi", "fcfs_watermark")["p99_ttft"]


def test_past_future_beats_aggressive_admission_under_its_max_gap_sla():
    # Past-Future (ASPLOS'25), decode-heavy lengths on a 120,000-token cache: fewer preemptions, fewer stalls.
    pf, vllm = _mean("lit-past-future", "past_future"), _mean("lit-past-future", "fcfs_watermark")
    assert 3 * pf["preemptions"] < vllm["preemptions"]
    assert pf["goodput_max_gap"] > 1.05 * vllm["goodput_max_gap"]


@pytest.mark.xfail(
    strict=True,
    reason="under a mean-TPOT SLO a preemption's stall is averaged away, so admitting aggressively wins "
    "(docs/serving.md, 'The literature's orderings')",
)
def test_past_future_beats_aggressive_admission_in_goodput():
    assert _mean("lit-past-future", "past_future")["goodput"] > _mean("lit-past-future", "fcfs_watermark")["goodput"]


def test_slo_aware_admission_multiplies_goodput_under_overload():
    # JITServe (NSDI'26) 1.4-6.3x, SLOs-Serve 2.2x: serve the requests that can still meet their SLO first.
    slo_aware, vllm = _mean("lit-overload", "slo_aware"), _mean("lit-overload", "fcfs_watermark")
    assert slo_aware["goodput"] > 2 * vllm["goodput"]
    assert vllm["attainment"] < 0.5 < slo_aware["attainment"]
