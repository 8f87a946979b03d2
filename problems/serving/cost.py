"""Iteration-time cost models of an LLM serving replica, derived from published roofline numbers.

Standard library only: the model travels inside instance data into the sandbox. The derivation (datasheet
figures, model shapes, efficiency assumptions) is written out in docs/serving.md, "Cost model"; `_roofline`
below is that derivation as code, so the table there and `COST_MODELS` cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CostModel:
    """Seconds one engine iteration takes, linear in what the iteration does.

    Attributes:
        name: key in `COST_MODELS`.
        model: the served model.
        gpu: the accelerator.
        a: seconds per iteration, fixed: reading the weights once (every iteration reads them all).
        b: seconds per prefill token (compute-bound matmuls).
        c: seconds per decoding sequence (its matmul FLOPs).
        e: seconds per KV-cache token read by attention (memory-bound).
        kv_capacity_tokens: KV cache capacity in tokens on this GPU once the weights are loaded.
    """

    name: str
    model: str
    gpu: str
    a: float
    b: float
    c: float
    e: float
    kv_capacity_tokens: int

    def iteration_seconds(self, prefill_tokens: int, decode_batch: int, kv_tokens_read: int) -> float:
        """Duration of one iteration: `a + b * prefill_tokens + c * decode_batch + e * kv_tokens_read`."""
        return self.a + self.b * prefill_tokens + self.c * decode_batch + self.e * kv_tokens_read

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data; `from_data` reads it back."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: Any) -> CostModel:
        """A cost model from plain data, checked: it arrives inside instance files that may have been edited."""
        if not isinstance(data, dict):
            raise ValueError(f"a cost model must be a dict, got {type(data).__name__}")
        fields = ("name", "model", "gpu", "a", "b", "c", "e", "kv_capacity_tokens")
        missing = [f for f in fields if f not in data]
        extra = [f for f in data if f not in fields]
        if missing or extra:
            raise ValueError(f"cost model keys: missing {missing}, unexpected {extra}")
        for key in ("name", "model", "gpu"):
            if not isinstance(data[key], str):
                raise ValueError(f"cost model {key} must be a string, got {data[key]!r}")
        for key in ("a", "b", "c", "e"):
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"cost model coefficient {key} must be a finite number, got {value!r}")
            if value < 0 or (key == "a" and value == 0):
                raise ValueError(f"cost model coefficient {key} must be {'> 0' if key == 'a' else '>= 0'}")
        capacity = data["kv_capacity_tokens"]
        if type(capacity) is not int or capacity < 1:
            raise ValueError(f"cost model kv_capacity_tokens must be a positive int, got {capacity!r}")
        return cls(**{k: float(data[k]) if k in ("a", "b", "c", "e") else data[k] for k in fields})


# Published figures (citations in docs/serving.md, "Cost model").
LLAMA3_8B_PARAMS = 8.03e9
LLAMA3_8B_KV_BYTES_PER_TOKEN = 2 * 32 * 8 * 128 * 2  # K and V, 32 layers, 8 KV heads, head dim 128, bf16
BF16_BYTES = 2
H100_SXM = {"gpu": "H100 SXM 80GB", "bandwidth": 3.35e12, "flops": 989e12, "memory": 80e9}
A100_SXM = {"gpu": "A100 SXM 80GB", "bandwidth": 2.039e12, "flops": 312e12, "memory": 80e9}

# Efficiency assumptions: what well-tuned serving kernels reach, not the datasheet peak.
BANDWIDTH_EFFICIENCY = 0.8  # share of peak HBM bandwidth achieved by weight and KV reads
MFU = 0.6  # model FLOPs utilisation of the matmuls
MEMORY_UTILISATION = 0.9  # vLLM's default gpu_memory_utilization
ACTIVATION_RESERVE = 1e9  # bytes kept for activations and workspace


def _roofline(name: str, model: str, params: float, kv_bytes: int, gpu: dict[str, Any]) -> CostModel:
    """The cost model of a dense decoder with `params` parameters in bf16 on one GPU.

    Every iteration reads all weights once (a); each token, prefilled or decoded, costs 2 FLOPs per parameter
    (b, c); attention reads each cached token's K and V (e). Terms are added, not overlapped: an upper bound
    that is tight when one term dominates, which is the usual case (weights at small batch, FLOPs in prefill).
    """
    weight_bytes = params * BF16_BYTES
    bandwidth = gpu["bandwidth"] * BANDWIDTH_EFFICIENCY
    per_token = 2 * params / (gpu["flops"] * MFU)
    free_bytes = gpu["memory"] * MEMORY_UTILISATION - weight_bytes - ACTIVATION_RESERVE
    return CostModel(
        name=name,
        model=model,
        gpu=gpu["gpu"],
        a=weight_bytes / bandwidth,
        b=per_token,
        c=per_token,
        e=kv_bytes / bandwidth,
        kv_capacity_tokens=int(free_bytes // kv_bytes) // 16 * 16,
    )


COST_MODELS: dict[str, CostModel] = {
    m.name: m
    for m in (
        _roofline("llama3-8b-h100", "Llama-3-8B", LLAMA3_8B_PARAMS, LLAMA3_8B_KV_BYTES_PER_TOKEN, H100_SXM),
        _roofline("llama3-8b-a100", "Llama-3-8B", LLAMA3_8B_PARAMS, LLAMA3_8B_KV_BYTES_PER_TOKEN, A100_SXM),
    )
}
