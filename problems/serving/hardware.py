"""Where the cost models' coefficients come from: model shapes, GPU figures, and a calibration to Vidur.

Trusted side only (the sandbox sees the resulting ``CostModel`` numbers, not this derivation). Each
coefficient is a physical quantity over an achieved rate: bytes over achieved HBM bandwidth, FLOPs over
achieved matmul throughput, all-reduce bytes over NVLink bandwidth. The two achieved shares of each GPU are
fitted to the per-iteration times of the linear layers that Vidur (MLSys'24) profiled (``VIDUR_LINEAR_MS``);
docs/serving.md, "Cost model", has the sources and the table of fitted against published times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from problems.serving.cost import CostModel

BF16_BYTES = 2
BLOCK = 16  # tokens per KV block: capacities are whole blocks


@dataclass(frozen=True)
class ModelShape:
    """A dense decoder-only transformer with grouped-query attention (from its ``config.json``)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int

    @property
    def linear_params(self) -> int:
        """Parameters of the per-layer matmuls: Q, K, V, O and the gated MLP's three."""
        attention = self.hidden * self.head_dim * (2 * self.heads + 2 * self.kv_heads)
        return self.layers * (attention + 3 * self.hidden * self.ffn)

    @property
    def weight_bytes(self) -> int:
        """All weights in bf16: the linear layers, the embedding table and the LM head (untied)."""
        return (self.linear_params + 2 * self.vocab * self.hidden) * BF16_BYTES

    @property
    def kv_bytes_per_token(self) -> int:
        """K and V of one token in every layer, bf16."""
        return 2 * self.layers * self.kv_heads * self.head_dim * BF16_BYTES


@dataclass(frozen=True)
class Gpu:
    """One accelerator: datasheet peaks, and the share of each that serving kernels achieve (fitted)."""

    name: str
    bandwidth: float  # bytes/s of HBM
    flops: float  # dense BF16 FLOP/s
    memory: float  # bytes
    nvlink: float  # bytes/s per direction, for tensor-parallel all-reduces
    bandwidth_share: float
    flops_share: float

    @property
    def achieved_bandwidth(self) -> float:
        return self.bandwidth * self.bandwidth_share

    @property
    def achieved_flops(self) -> float:
        return self.flops * self.flops_share


LLAMA3_8B = ModelShape(
    "Llama-3-8B", layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256
)
LLAMA3_70B = ModelShape(
    "Llama-3-70B", layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128, ffn=28672, vocab=128256
)
H100 = Gpu("H100 SXM 80GB", 3.35e12, 989e12, 80e9, 450e9, bandwidth_share=0.672, flops_share=0.642)
A100 = Gpu("A100 SXM 80GB", 2.039e12, 312e12, 80e9, 300e9, bandwidth_share=0.702, flops_share=0.645)

# Vidur's profiles of the linear layers, milliseconds per iteration by tokens in the batch: Llama-3-8B on the
# A100, and Llama-2-7B on the H100 scaled by 1.078, the ratio of the two models' linear-layer parameters.
VIDUR_LINEAR_MS = {
    "llama3-8b-h100": {1: 6.1, 64: 6.4, 512: 13.1, 1024: 22.9, 4096: 91.1},
    "llama3-8b-a100": {1: 9.8, 64: 11.3, 512: 34.9, 1024: 75.6, 4096: 275.6},
}

MEMORY_UTILISATION = 0.9  # vLLM's default gpu_memory_utilization
ACTIVATION_RESERVE = 1e9  # bytes per GPU kept for activations and workspace
# CPU time per iteration of a vLLM-style engine: in v0.5.3 scheduling took 29% of the time against the GPU's
# 38% for Llama-3-8B on an H100 (vLLM blog, 2024-09-05), about 11 ms per step at that load; v0.6 schedules
# 8 steps at once and overlaps output processing, leaving about 1.5 ms per iteration.
SCHEDULER_SECONDS = 1.5e-3
ALLREDUCE_LATENCY = 10e-6  # one small NCCL all-reduce inside an NVLink node (an assumption, see docs)


def linear_seconds(shape: ModelShape, gpu: Gpu, tokens: int, tp: int = 1) -> float:
    """The linear layers of one iteration of ``tokens`` tokens: the weight read and the matmuls overlap."""
    read = shape.linear_params * BF16_BYTES / tp / gpu.achieved_bandwidth
    return math.hypot(read, tokens * 2 * shape.linear_params / tp / gpu.achieved_flops)


def derive(name: str, shape: ModelShape, gpu: Gpu, tp: int = 1) -> CostModel:
    """The cost model of ``shape`` served on ``tp`` GPUs of ``gpu`` with tensor parallelism."""
    bandwidth, flops = gpu.achieved_bandwidth, gpu.achieved_flops
    read_per_iteration = (shape.linear_params + shape.vocab * shape.hidden) * BF16_BYTES  # the LM head too
    allreduce_bytes = 2 * shape.layers * shape.hidden * BF16_BYTES  # two per layer, of each token's activations
    free = gpu.memory * MEMORY_UTILISATION - shape.weight_bytes / tp - ACTIVATION_RESERVE
    return CostModel(
        name=name,
        model=shape.name,
        gpu=gpu.name if tp == 1 else f"{tp} x {gpu.name}",
        tp=tp,
        overhead=SCHEDULER_SECONDS + (2 * shape.layers * ALLREDUCE_LATENCY if tp > 1 else 0.0),
        a=read_per_iteration / tp / bandwidth,
        b=2 * shape.linear_params / tp / flops,
        e=shape.kv_bytes_per_token / tp / bandwidth,
        f=4 * shape.layers * shape.heads * shape.head_dim / tp / flops,  # QK^T and AV: 2 FLOPs each per dim
        g=allreduce_bytes * 2 * (tp - 1) / tp / gpu.nvlink,  # a ring all-reduce moves 2(tp-1)/tp of the data
        kv_capacity_tokens=int(tp * free // shape.kv_bytes_per_token) // BLOCK * BLOCK,
    )


COST_MODELS: dict[str, CostModel] = {
    m.name: m
    for m in (
        derive("llama3-8b-h100", LLAMA3_8B, H100),
        derive("llama3-8b-a100", LLAMA3_8B, A100),
        derive("llama3-70b-h100-tp4", LLAMA3_70B, H100, tp=4),
        derive("llama3-70b-a100-tp8", LLAMA3_70B, A100, tp=8),
    )
}
CALIBRATED = {"llama3-8b-h100": (LLAMA3_8B, H100), "llama3-8b-a100": (LLAMA3_8B, A100)}
