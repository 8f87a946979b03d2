"""An instance of the `serving` problem as the engine reads it: requests, SLOs, KV cache and cost model.

Standard library only (it goes into the sandbox with `problems/serving/sim.py`, which re-exports it).
Validated on construction, so a bad instance fails when it is loaded, with the first thing wrong named, never
half-way through a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from problems.serving.cost import CostModel


@dataclass(frozen=True)
class Workload:
    """One instance: the requests (id = index, sorted by arrival) and the replica that serves them.

    Attributes:
        arrivals: seconds since the start, non-decreasing.
        prompt: prompt tokens per request, >= 1.
        output: true output tokens per request, 1..max_new_tokens; hidden from the scheduler.
        slo_ttft, slo_tpot: the SLOs in seconds.
        slo_max_gap: the largest gap between two consecutive tokens of a request for the stall-aware goodput
            (the Past-Future paper's SLA, a reported metric beside the objectives), seconds.
        kv_capacity_tokens: KV cache size; the engine has `kv_capacity_tokens // block_size` blocks.
        max_new_tokens: the cap on any output, told to the scheduler.
        cost: the iteration-time model.
        horizon: the run stops once the clock passes it (>= the last arrival).
        duration: span of the arrival window, the denominator of per-second metrics.
        block_size: tokens per KV block.
    """

    arrivals: tuple[float, ...]
    prompt: tuple[int, ...]
    output: tuple[int, ...]
    slo_ttft: float
    slo_tpot: float
    kv_capacity_tokens: int
    max_new_tokens: int
    cost: CostModel
    horizon: float
    duration: float
    block_size: int = 16
    slo_max_gap: float = 0.5

    def __post_init__(self) -> None:
        _check_workload(self)

    @classmethod
    def from_data(cls, data: Any) -> Workload:
        """The workload of an instance's plain-JSON data; ValueError names the first thing wrong with it."""
        if not isinstance(data, dict):
            raise ValueError(f"workload data must be a dict, got {type(data).__name__}")
        keys = {"arrivals", "prompt", "output", "slo_ttft", "slo_tpot", "kv_capacity_tokens", "max_new_tokens"}
        keys |= {"cost", "horizon", "duration"}
        optional = {"block_size", "slo_max_gap"}
        missing, extra = sorted(keys - set(data)), sorted(set(data) - keys - optional)
        if missing or extra:
            raise ValueError(f"workload keys: missing {missing}, unexpected {extra}")
        for key in ("arrivals", "prompt", "output"):
            if not isinstance(data[key], (list, tuple)):
                raise ValueError(f"workload {key} must be a list, got {type(data[key]).__name__}")
        fields = {k: data[k] for k in keys | (optional & set(data))}
        for key in ("arrivals", "prompt", "output"):
            fields[key] = tuple(data[key])
        fields["cost"] = CostModel.from_data(data["cost"])
        return cls(**fields)

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data; `from_data` reads it back."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data.update(arrivals=list(self.arrivals), prompt=list(self.prompt), output=list(self.output))
        data["cost"] = self.cost.to_data()
        return data


def _number(value: Any, name: str, positive: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"workload {name} must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"workload {name} must be {'> 0' if positive else '>= 0'}, got {value!r}")


def _count(value: Any, name: str, least: int = 1) -> None:
    if type(value) is not int or value < least:
        raise ValueError(f"workload {name} must be an int >= {least}, got {value!r}")


def _check_workload(w: Workload) -> None:
    """Every rule the engine relies on, so that a bad instance fails on loading, not mid-run."""
    if not all(isinstance(s, tuple) for s in (w.arrivals, w.prompt, w.output)):
        raise ValueError("workload arrivals, prompt and output must be tuples (from_data converts lists)")
    if not len(w.arrivals) == len(w.prompt) == len(w.output):
        raise ValueError(
            f"workload lengths differ: {len(w.arrivals)} arrivals, {len(w.prompt)} prompts, {len(w.output)} outputs"
        )
    if not isinstance(w.cost, CostModel):
        raise ValueError(f"workload cost must be a CostModel, got {type(w.cost).__name__}")
    for name in ("slo_ttft", "slo_tpot", "slo_max_gap", "duration"):
        _number(getattr(w, name), name)
    _number(w.horizon, "horizon", positive=False)
    _count(w.block_size, "block_size")
    _count(w.kv_capacity_tokens, "kv_capacity_tokens", w.block_size)
    _count(w.max_new_tokens, "max_new_tokens")
    capacity = w.kv_capacity_tokens // w.block_size * w.block_size
    previous = 0.0
    for i, (t, p, o) in enumerate(zip(w.arrivals, w.prompt, w.output)):
        _number(t, f"arrivals[{i}]", positive=False)
        if t < previous:
            raise ValueError(f"workload arrivals must be non-decreasing: arrivals[{i}] = {t} < {previous}")
        previous = t
        _count(p, f"prompt[{i}]")
        _count(o, f"output[{i}]")
        if o > w.max_new_tokens:
            raise ValueError(f"workload output[{i}] = {o} exceeds max_new_tokens {w.max_new_tokens}")
        if p + o > capacity:  # its last token could never be held: no scheduler could finish it
            raise ValueError(f"workload request {i} needs {p + o} tokens of KV cache, more than its {capacity}")
    if w.arrivals and w.horizon < w.arrivals[-1]:
        raise ValueError(f"workload horizon {w.horizon} is before the last arrival {w.arrivals[-1]}")
