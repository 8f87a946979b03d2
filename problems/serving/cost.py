"""The iteration-time model of an LLM serving replica: what one engine iteration costs, in seconds.

Standard library only: the model travels inside instance data into the sandbox. Its coefficients come from
``hardware.py``, which derives them from model shapes and GPU figures calibrated against published kernel
profiles (docs/serving.md, "Cost model").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

_COEFFICIENTS = ("overhead", "a", "b", "e", "f", "g")


@dataclass(frozen=True)
class CostModel:
    """Seconds one engine iteration takes.

    An iteration runs ``T`` tokens (its prefill chunks plus one per decoding sequence) through the weights,
    which takes ``hypot(a, b * T)``: the weight read (``a``) and the matmul FLOPs (``b`` per token) overlap,
    so the time is the weight read at small batches, the FLOPs at large ones, and a blend of the two in
    between (fitted to Vidur's profiles of the linear layers). Attention adds ``e`` per cached token it reads
    (memory-bound) and ``f`` per query-key pair a prefill chunk computes; tensor parallelism adds ``g`` per
    token of all-reduce traffic; ``overhead`` is the per-iteration CPU time of the scheduler and, with tensor
    parallelism, the all-reduces' latency.

    Attributes:
        name: key in ``hardware.COST_MODELS``.
        model: the served model.
        gpu: the accelerators, e.g. ``4 x H100 SXM 80GB``.
        tp: tensor-parallel degree (GPUs per replica).
        overhead: seconds per iteration, whatever it does.
        a: seconds to read the weights once (per GPU, in parallel).
        b: seconds of matmul per token.
        e: seconds per KV-cache token read by attention.
        f: seconds per query-key pair of prefill attention.
        g: seconds of all-reduce per token (0 without tensor parallelism).
        kv_capacity_tokens: KV cache capacity in tokens of the replica once the weights are loaded.
    """

    name: str
    model: str
    gpu: str
    tp: int
    overhead: float
    a: float
    b: float
    e: float
    f: float
    g: float
    kv_capacity_tokens: int

    def iteration_seconds(self, prefill_tokens: int, decode_batch: int, kv_tokens_read: int, pairs: int = 0) -> float:
        """Duration of an iteration that prefills ``prefill_tokens``, decodes ``decode_batch`` sequences, reads
        ``kv_tokens_read`` cached tokens in attention and computes ``pairs`` query-key pairs of prefill."""
        tokens = prefill_tokens + decode_batch
        return (
            self.overhead
            + math.hypot(self.a, self.b * tokens)
            + self.e * kv_tokens_read
            + self.f * pairs
            + self.g * tokens
        )

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data; ``from_data`` reads it back."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: Any) -> CostModel:
        """A cost model from plain data, checked: it arrives inside instance files that may have been edited."""
        if not isinstance(data, dict):
            raise ValueError(f"a cost model must be a dict, got {type(data).__name__}")
        fields = tuple(cls.__dataclass_fields__)
        missing = [f for f in fields if f not in data]
        extra = [f for f in data if f not in fields]
        if missing or extra:
            raise ValueError(f"cost model keys: missing {missing}, unexpected {extra}")
        for key in ("name", "model", "gpu"):
            if not isinstance(data[key], str):
                raise ValueError(f"cost model {key} must be a string, got {data[key]!r}")
        for key in _COEFFICIENTS:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"cost model coefficient {key} must be a finite number, got {value!r}")
            if value < 0 or (key == "a" and value == 0):
                raise ValueError(f"cost model coefficient {key} must be {'> 0' if key == 'a' else '>= 0'}")
        for key in ("tp", "kv_capacity_tokens"):
            if type(data[key]) is not int or data[key] < 1:
                raise ValueError(f"cost model {key} must be a positive int, got {data[key]!r}")
        return cls(**{k: float(data[k]) if k in _COEFFICIENTS else data[k] for k in fields})
