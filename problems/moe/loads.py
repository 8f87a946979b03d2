"""Expert-load traces of ``moe``: the cluster shape, model presets, a seeded generator, statistics and loaders.

A trace is an int64 array ``loads[window, layer, expert]``: how many routed token assignments each expert of each
MoE layer received during one forward window. One (window, layer) row sums to ``tokens_per_window * top_k``.

The generator draws each expert's log-popularity from four documented, seeded parts (``LoadModel``):
a lasting part and a wandering part (mean-reverting AR(1) across windows), both standard normal, shared in part
between adjacent layers, scaled by ``skew``; bursts multiply an expert's popularity for a few windows; routed
tokens are then drawn by multinomial sampling. Each (layer, part) has its own random stream, so a trace with
fewer layers or windows is exactly the beginning of a longer one, and a seed gives the same trace everywhere
(numpy's PCG64 streams are fixed for a given numpy version).

Files (``load_file``, ``save_npz``; in ``load_files.py``): ``.npz`` holding an integer array ``loads`` [W, L, E],
or a long CSV ``window,layer,expert,tokens`` (header required, any row order, every cell exactly once). vLLM's
EPLB records ``expert_load_window`` [steps, layers, physical experts]; sum its physical slots onto logical
experts with its ``physical_to_logical_map`` and pass the result to ``save_npz``. Statistics (``summary``) live
in ``load_stats.py``; both are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from problems.base import ProblemError
from problems.moe.load_files import CSV_COLUMNS, as_loads, load_file, save_npz
from problems.moe.load_stats import jump_rate, layer_correlation, summary, window_correlation

__all__ = [
    "CSV_COLUMNS", "PRESETS", "Cluster", "LoadModel", "Preset", "as_loads", "generate", "get_preset", "jump_rate",
    "layer_correlation", "load_file", "popularity", "save_npz", "summary", "window_correlation",
]  # fmt: skip


@dataclass(frozen=True)
class Cluster:
    """The expert-parallel deployment a plan is made for.

    Attributes:
        layers: MoE layers.
        experts: logical experts per layer.
        slots: physical expert slots per layer over all GPUs (``slots - experts`` are redundant replicas).
        gpus: GPUs, each holding ``slots / gpus`` slots of every layer.
        nodes: nodes; GPU ``j`` sits on node ``j // gpus_per_node``.
        groups: expert groups (contiguous ranges of experts) for the hierarchical node constraint.
    """

    layers: int
    experts: int
    slots: int
    gpus: int
    nodes: int
    groups: int

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"cluster {f.name} must be a positive integer, got {value!r}")
        if self.slots < self.experts:
            raise ValueError(f"cluster needs a slot per expert ({self.slots} slots < {self.experts} experts)")
        if self.slots % self.gpus:
            raise ValueError(f"{self.slots} slots do not split evenly over {self.gpus} GPUs")
        if self.gpus % self.nodes:
            raise ValueError(f"{self.gpus} GPUs do not split evenly over {self.nodes} nodes")
        if self.experts % self.groups:
            raise ValueError(f"{self.experts} experts do not split evenly into {self.groups} groups")

    @property
    def slots_per_gpu(self) -> int:
        return self.slots // self.gpus

    @property
    def gpus_per_node(self) -> int:
        return self.gpus // self.nodes

    @property
    def experts_per_group(self) -> int:
        return self.experts // self.groups

    def to_dict(self) -> dict[str, int]:
        """The six fields as a plain JSON dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cluster:
        """The cluster of ``to_dict``'s output; other keys (derived ones such as ``slots_per_gpu``) are ignored."""
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in d]
        if missing:
            raise ValueError(f"cluster dict lacks {', '.join(missing)}")
        return cls(**{n: d[n] for n in names})


@dataclass(frozen=True)
class LoadModel:
    """The structure of generated loads; every part draws from its own seeded stream.

    Attributes:
        skew: standard deviation of an expert's log-popularity (log-normal popularity): the per-layer max/mean
            expert load grows with it and with the number of experts.
        drift: share of the log-popularity's variance that wanders across windows (0: fixed hot experts).
        persistence: AR(1) coefficient per window of the wandering part (stationary, mean-reverting); the
            log-popularity's lag-1 correlation is ``1 - drift * (1 - persistence)``.
        layer_rho: correlation of log-popularity between adjacent layers (``rho ** d`` at distance ``d``): each
            layer's part is ``rho * previous layer's + sqrt(1 - rho^2) * its own``.
        burst_rate: chance per window that an expert not in a burst starts one.
        burst_factor: a bursting expert's popularity is multiplied by this.
        burst_windows: mean length of a burst in windows (geometric: each window a burst ends with 1/this).
    """

    skew: float = 0.4
    drift: float = 0.3
    persistence: float = 0.9
    layer_rho: float = 0.5
    burst_rate: float = 0.002
    burst_factor: float = 3.0
    burst_windows: float = 3.0

    def __post_init__(self) -> None:
        checks = {
            "skew": self.skew >= 0,
            "drift": 0 <= self.drift <= 1,
            "persistence": 0 <= self.persistence <= 1,
            "layer_rho": 0 <= self.layer_rho <= 1,
            "burst_rate": 0 <= self.burst_rate <= 1,
            "burst_factor": self.burst_factor > 0,
            "burst_windows": self.burst_windows >= 1,
        }
        for name, ok in checks.items():
            if not (ok and math.isfinite(getattr(self, name))):
                raise ValueError(f"load model {name} out of range: {getattr(self, name)!r}")


@dataclass(frozen=True)
class Preset:
    """A model and deployment whose loads can be generated.

    Attributes:
        name: key in ``PRESETS``.
        cluster: the deployment.
        hidden: the model's hidden size (input and output of an expert FFN), for the GPU benchmark.
        intermediate: an expert FFN's intermediate size, for the GPU benchmark.
        top_k: experts each token is routed to.
        tokens_per_window: tokens of one forward window; one layer's loads sum to ``tokens_per_window * top_k``.
        load_model: structure of the generated loads.
    """

    name: str
    cluster: Cluster
    hidden: int
    intermediate: int
    top_k: int
    tokens_per_window: int
    load_model: LoadModel = field(default_factory=LoadModel)

    def __post_init__(self) -> None:
        if not 1 <= self.top_k <= self.cluster.experts or self.tokens_per_window < 1:
            raise ValueError(f"preset {self.name}: need 1 <= top_k <= experts and tokens_per_window >= 1")


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("deepseek-v3", Cluster(58, 256, 320, 64, 8, 8), 7168, 2048, 8, 16384, LoadModel(skew=0.4)),
        Preset("qwen3-moe", Cluster(48, 128, 160, 16, 2, 8), 2048, 768, 8, 8192, LoadModel(skew=0.45)),
        # Mixtral's router is close to balanced over its 8 experts (Mixtral of Experts, 2024, section 5).
        Preset("mixtral-8x7b", Cluster(32, 8, 16, 8, 1, 1), 4096, 14336, 2, 4096, LoadModel(skew=0.3)),
    )
}


def get_preset(preset: Preset | str) -> Preset:
    """The preset itself, or the one of ``PRESETS`` with that name (ProblemError naming the choices)."""
    if isinstance(preset, Preset):
        return preset
    if preset not in PRESETS:
        raise ProblemError(f"unknown moe preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset]


# -- generator -----------------------------------------------------------------------------------------------

_LASTING, _START, _WANDER, _BURST_START, _BURST_END, _SAMPLE = range(6)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _stream(seed: int, layer: int, part: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(layer, part)))


def _chain_layers(own: np.ndarray, rho: float) -> np.ndarray:
    """Standard normals along axis -2 (layers) with correlation ``rho`` between neighbours, from independent ones."""
    out = np.empty_like(own)
    out[..., 0, :] = own[..., 0, :]
    keep = math.sqrt(1.0 - rho * rho)
    for layer in range(1, own.shape[-2]):
        out[..., layer, :] = rho * out[..., layer - 1, :] + keep * own[..., layer, :]
    return out


def _bursts(start: np.ndarray, end: np.ndarray, model: LoadModel) -> np.ndarray:
    """Which (window, layer, expert) cells are in a burst, from uniforms ``start`` and ``end`` [W, L, E]."""
    active = np.zeros(start.shape[1:], dtype=bool)
    mask = np.empty(start.shape, dtype=bool)
    for w in range(start.shape[0]):
        active &= end[w] >= 1.0 / model.burst_windows
        active |= start[w] < model.burst_rate
        mask[w] = active
    return mask


def _cap_shares(p: np.ndarray, cap: float) -> np.ndarray:
    """Shares (rows summing to 1) with none above ``cap``, the excess spread over the others in proportion.

    A token picks ``top_k`` distinct experts, so no expert can take more than ``1 / top_k`` of a layer's load.
    """
    fixed = np.zeros(p.shape, dtype=bool)
    for _ in range(p.shape[-1]):
        over = (p > cap) & ~fixed
        if not over.any():
            break
        fixed |= over
        free = np.where(fixed, 0.0, p)
        room = 1.0 - cap * fixed.sum(axis=-1, keepdims=True)
        p = np.where(fixed, cap, free * (room / np.maximum(free.sum(axis=-1, keepdims=True), 1e-300)))
    return p


def popularity(preset: Preset | str, windows: int, seed: int, *, layers: int | None = None) -> np.ndarray:
    """Expected shares [windows, layers, experts] (float64, rows summing to 1) before sampling, with bursts."""
    spec = get_preset(preset)
    model, cluster = spec.load_model, spec.cluster
    layers = cluster.layers if layers is None else layers
    if not (_is_int(windows) and windows >= 1):
        raise ValueError(f"windows must be a positive integer, got {windows!r}")
    if not (_is_int(layers) and 1 <= layers <= cluster.layers):
        raise ValueError(f"layers must be between 1 and {cluster.layers}, got {layers!r}")
    if not (_is_int(seed) and seed >= 0):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    windows, layers, seed = int(windows), int(layers), int(seed)
    experts = cluster.experts
    draw = [[_stream(seed, layer, part) for part in range(_SAMPLE)] for layer in range(layers)]
    lasting = _chain_layers(np.stack([d[_LASTING].standard_normal(experts) for d in draw]), model.layer_rho)
    start = np.stack([d[_START].standard_normal(experts) for d in draw])
    steps = np.stack([d[_WANDER].standard_normal((windows, experts)) for d in draw], axis=1)
    wander = np.empty((windows, layers, experts))
    wander[0] = start
    kick = math.sqrt(1.0 - model.persistence**2)
    for w in range(1, windows):
        wander[w] = model.persistence * wander[w - 1] + kick * steps[w]
    wander = _chain_layers(wander, model.layer_rho)
    log_pop = model.skew * (math.sqrt(1.0 - model.drift) * lasting + math.sqrt(model.drift) * wander)
    burst = _bursts(
        np.stack([d[_BURST_START].random((windows, experts)) for d in draw], axis=1),
        np.stack([d[_BURST_END].random((windows, experts)) for d in draw], axis=1),
        model,
    )
    log_pop = log_pop + np.where(burst, math.log(model.burst_factor), 0.0)
    p = np.exp(log_pop - log_pop.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    # 0.9 rather than 1: leaves room for sampling noise, so no count exceeds tokens_per_window.
    return _cap_shares(p, max(0.9 / spec.top_k, 1.0 / experts))


def generate(preset: Preset | str, windows: int, seed: int, *, layers: int | None = None) -> np.ndarray:
    """A seeded trace: int64 [windows, layers, experts], each row summing to ``tokens_per_window * top_k``.

    ``layers`` keeps only the first layers of the preset (the same as slicing the full trace); a trace of fewer
    windows is the beginning of a longer one with the same seed.
    """
    spec = get_preset(preset)
    p = popularity(spec, windows, seed, layers=layers)
    routed = spec.tokens_per_window * spec.top_k
    out = np.empty(p.shape, dtype=np.int64)
    for layer in range(p.shape[1]):
        out[:, layer] = _stream(seed, layer, _SAMPLE).multinomial(routed, p[:, layer])
    return out
