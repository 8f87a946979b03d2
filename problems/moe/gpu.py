"""Times one MoE layer as expert parallelism runs it, on a real GPU: the physical check of a rebalancing plan.

Each simulated GPU holds ``slots_per_gpu`` expert replicas and runs their SwiGLU FFNs (``x @ W_gate``,
``x @ W_up``, ``silu(g) * u @ W_down``; gate and up fused into one matrix, as inference engines store them) on
the tokens routed to them, as one grouped GEMM. The layer's step time is the slowest GPU's. Per model shape, one
simulated GPU's weights are allocated, on the one real device, and reused for all; a GPU's time depends only on the
multiset of its slots' token counts, so timings are cached by that key.

torch is optional (``pip install 'adrs[gpu]'``) and imported inside functions: this module imports without it.
Without CUDA the same code runs on the CPU in float32 with sizes divided by ``cpu_shrink``; those timings only
exercise the code and are marked not meaningful.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

INSTALL_HINT = "pip install 'adrs[gpu]'"
_GROUPED = "torch._grouped_mm"
_LOOP = "matmul loop"
_CHUNK = 8  # multisets queued per synchronisation; keeps the launch queue short of its depth limit


class GpuUnavailable(RuntimeError):
    """The GPU verifier cannot run here: torch is not installed, or the requested device is missing."""


@dataclass(frozen=True)
class GpuBenchConfig:
    """How MoE layers are timed.

    Attributes:
        warmup: untimed runs of each per-GPU workload before its timed runs.
        repeats: timed runs of each per-GPU workload; its time is their median.
        dtype: torch dtype name of weights and activations on CUDA (the CPU always uses float32).
        token_scale: routed token counts are multiplied by this (then rounded) to set the batch size timed.
        device: ``auto`` (CUDA when available, else the CPU), ``cpu``, or a CUDA device such as ``cuda:0``.
        layers: at most this many layers of each plan are timed, evenly spaced; 0 times them all.
        backend: ``auto`` (``torch._grouped_mm`` when it runs correctly on the device, else a loop of matmuls),
            ``grouped`` or ``loop``.
        cpu_shrink: hidden and intermediate sizes are divided by this on the CPU, to keep it quick.
    """

    warmup: int = 2
    repeats: int = 10
    dtype: str = "bfloat16"
    token_scale: float = 1.0
    device: str = "auto"
    layers: int = 8
    backend: str = "auto"
    cpu_shrink: int = 64


@dataclass(frozen=True)
class LayerTiming:
    """One layer's measured time under a plan.

    Attributes:
        step_ms: the layer's step time: the slowest simulated GPU's time, in milliseconds.
        per_gpu_ms: each simulated GPU's time (median of the repeats), in milliseconds.
        tokens: tokens each simulated GPU processed (summed over its slots).
        device: name of the device that ran it (e.g. ``NVIDIA H100 80GB HBM3``, or ``cpu``).
        backend: ``torch._grouped_mm`` or ``matmul loop`` (with the reason when the former was not usable).
        meaningful: False on the CPU, whose shrunken float32 timings say nothing about a GPU.
    """

    step_ms: float
    per_gpu_ms: tuple[float, ...]
    tokens: tuple[int, ...]
    device: str
    backend: str
    meaningful: bool


def split_tokens(load: Sequence[int] | np.ndarray, replicas: Any, placement: Any) -> np.ndarray:
    """Tokens of each slot, ``[gpus, slots_per_gpu]`` int64: expert e's load split evenly over its replicas,
    the remainder going one token each to its first replicas in placement order, so counts sum to the load.
    An empty slot (expert id -1) gets none."""
    load = np.asarray(load, dtype=np.int64)
    replicas = np.asarray(replicas, dtype=np.int64)
    placement = np.asarray(placement, dtype=np.int64)
    if load.ndim != 1 or replicas.shape != load.shape or placement.ndim != 2:
        raise ValueError(f"shapes: load {load.shape}, replicas {replicas.shape}, placement {placement.shape}")
    flat = placement.ravel()
    used = flat >= 0
    if np.bincount(flat[used], minlength=len(load)).tolist() != replicas.tolist():
        raise ValueError("replica counts disagree with the placement")
    base, extra = np.divmod(load, np.maximum(replicas, 1))
    ids = flat[used]
    order = np.argsort(ids, kind="stable")
    starts = np.concatenate(([0], np.cumsum(replicas)[:-1]))
    occurrence = np.empty_like(ids)
    occurrence[order] = np.arange(len(ids)) - np.repeat(starts, replicas)
    tokens = np.zeros(len(flat), dtype=np.int64)
    tokens[used] = base[ids] + (occurrence < extra[ids])
    return tokens.reshape(placement.shape)


def ideal_tokens(total: int, gpus: int, slots_per_gpu: int) -> np.ndarray:
    """A perfectly balanced layer: ``total`` tokens split evenly over GPUs, then over each GPU's slots."""
    per_gpu = np.full(gpus, total // gpus, dtype=np.int64)
    per_gpu[: total % gpus] += 1
    base, rest = np.divmod(per_gpu, slots_per_gpu)
    return base[:, None] + (np.arange(slots_per_gpu)[None, :] < rest[:, None])


def layer_subset(layers: int, wanted: int) -> list[int]:
    """``wanted`` layer indices evenly spaced over ``range(layers)`` (all of them when ``wanted`` is 0)."""
    if wanted <= 0 or wanted >= layers:
        return list(range(layers))
    return sorted({int(round(i)) for i in np.linspace(0, layers - 1, wanted)})


def _torch():
    try:
        import torch
    except ImportError:
        raise GpuUnavailable(f"the GPU verifier needs torch, which is not installed; {INSTALL_HINT}") from None
    return torch


def _device(config: GpuBenchConfig) -> str:
    torch = _torch()
    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise GpuUnavailable(f"device {config.device!r} requested but torch sees no CUDA device")
    return config.device


def describe(config: GpuBenchConfig) -> str:
    """One line on where timings will run; raises ``GpuUnavailable`` when they cannot."""
    device = _device(config)
    if device == "cpu":
        return f"cpu (float32, sizes / {config.cpu_shrink}): timings exercise the code but are not meaningful"
    return f"{_torch().cuda.get_device_name(device)} ({config.dtype})"


class LayerBench:
    """One simulated GPU's worth of expert weights on the device, and the timings of workloads on it."""

    def __init__(self, hidden: int, intermediate: int, slots_per_gpu: int, config: GpuBenchConfig):
        torch = _torch()
        self.config = config
        self.device = _device(config)
        self.meaningful = self.device != "cpu"
        if not self.meaningful:
            hidden = max(8, hidden // config.cpu_shrink)
            intermediate = max(8, intermediate // config.cpu_shrink)
        self.hidden, self.intermediate, self.slots = hidden, intermediate, slots_per_gpu
        self.dtype = getattr(torch, config.dtype) if self.meaningful else torch.float32
        self.device_name = torch.cuda.get_device_name(self.device) if self.meaningful else "cpu"
        gen = torch.Generator(device="cpu").manual_seed(0)

        def weights(rows: int, cols: int) -> Any:
            # Stored [slot, out, in] like nn.Linear and passed transposed: column-major, as grouped GEMMs like.
            w = torch.randn(slots_per_gpu, rows, cols, generator=gen) / cols**0.5
            return w.to(self.device, self.dtype).transpose(-2, -1)

        self.w13 = weights(2 * intermediate, hidden)
        self.w2 = weights(hidden, intermediate)
        self._x: Any = None
        self._cache: dict[tuple[int, ...], float] = {}
        self._calibration: tuple[float, float] | None = None
        self.backend = self._choose_backend()

    def _inputs(self, rows: int) -> Any:
        torch = self._torch
        if self._x is None or self._x.shape[0] < rows:
            gen = torch.Generator(device="cpu").manual_seed(1)
            self._x = torch.randn(max(rows, 1024), self.hidden, generator=gen).to(self.device, self.dtype)
        return self._x[:rows]

    @property
    def _torch(self):
        return _torch()

    def _forward(self, x: Any, counts: Sequence[int], offs: Any, grouped: bool) -> Any:
        torch = self._torch
        inter = self.intermediate
        if grouped:
            h = torch._grouped_mm(x, self.w13, offs=offs)
            return torch._grouped_mm(torch.nn.functional.silu(h[:, :inter]) * h[:, inter:], self.w2, offs=offs)
        out = torch.empty(x.shape[0], self.hidden, device=x.device, dtype=x.dtype)
        start = 0
        for slot, count in enumerate(counts):
            if count:
                h = x[start : start + count] @ self.w13[slot]
                out[start : start + count] = (torch.nn.functional.silu(h[:, :inter]) * h[:, inter:]) @ self.w2[slot]
                start += count
        return out

    def _offsets(self, counts: Sequence[int]) -> Any:
        return self._torch.tensor(np.cumsum(counts), dtype=self._torch.int32, device=self.device)

    def _choose_backend(self) -> str:
        """``torch._grouped_mm`` if asked for (or ``auto``) and it matches the loop on a probe with an empty
        group and ragged groups; else the loop, with the reason."""
        torch = self._torch
        if self.config.backend == "loop":
            return _LOOP
        reason = "not in this torch"
        if hasattr(torch, "_grouped_mm"):
            counts = [0, 37, 5, 64][: self.slots] + [16] * max(0, self.slots - 4)
            x = self._inputs(sum(counts))
            try:
                got = self._forward(x, counts, self._offsets(counts), grouped=True).float()
                want = self._forward(x, counts, None, grouped=False).float()
                error = float((got - want).norm() / want.norm().clamp_min(1e-12))
                if error < 2e-2:
                    return _GROUPED
                reason = f"disagrees with matmuls (relative error {error:.1e})"
            except (RuntimeError, TypeError, ValueError) as exc:
                reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        if self.config.backend == "grouped":
            raise GpuUnavailable(f"{_GROUPED} is not usable here: {reason}")
        return f"{_LOOP} ({_GROUPED}: {reason})"

    def gpu_times(self, per_gpu_counts: Sequence[Sequence[int]]) -> list[float]:
        """Milliseconds of each simulated GPU's workload (token counts of its slots), from the cache or measured."""
        keys = [tuple(sorted(int(c) for c in counts)) for counts in per_gpu_counts]
        missing = sorted({k for k in keys if k not in self._cache and sum(k) > 0})
        for i in range(0, len(missing), _CHUNK):
            chunk = missing[i : i + _CHUNK]
            self._cache.update(zip(chunk, self._measure(chunk)))
        return [self._cache.get(k, 0.0) for k in keys]

    def _measure(self, workloads: list[tuple[int, ...]]) -> list[float]:
        torch = self._torch
        grouped = self.backend == _GROUPED
        cfg = self.config
        x = self._inputs(max(sum(w) for w in workloads))
        # Offsets go to the device before any timed work: a host-to-device copy would wait for the queue.
        offsets = [self._offsets(w) if grouped else None for w in workloads]
        if not self.meaningful:
            samples = []
            for w, offs in zip(workloads, offsets):
                runs = []
                for r in range(cfg.warmup + cfg.repeats):
                    started = time.perf_counter()
                    self._forward(x[: sum(w)], w, offs, grouped)
                    if r >= cfg.warmup:
                        runs.append(1000 * (time.perf_counter() - started))
                samples.append(statistics.median(runs))
            return samples
        # A sleeping kernel first lets the host queue every run ahead of the GPU, so that events time the
        # kernels back to back rather than the host's launch gaps between small ones.
        cycles_per_ms, host_ms = self._calibrate()
        torch.cuda._sleep(int(cycles_per_ms * 1.5 * host_ms * len(workloads) * (cfg.warmup + cfg.repeats)))
        events = []
        for w, offs in zip(workloads, offsets):
            pairs = []
            for r in range(cfg.warmup + cfg.repeats):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                self._forward(x[: sum(w)], w, offs, grouped)
                end.record()
                if r >= cfg.warmup:
                    pairs.append((start, end))
            events.append(pairs)
        torch.cuda.synchronize(self.device)
        return [statistics.median(s.elapsed_time(e) for s, e in pairs) for pairs in events]

    def _calibrate(self) -> tuple[float, float]:
        """(GPU clock cycles per millisecond, host milliseconds to queue one run), measured once."""
        if self._calibration is None:
            torch = self._torch
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            cycles, runs, counts = 20_000_000, 20, [8] * self.slots
            x, offs = self._inputs(sum(counts)), self._offsets(counts)
            busy = [512] * self.slots  # an idle GPU clocks down: bring it to its working clock first
            for _ in range(200):
                self._forward(self._inputs(sum(busy)), busy, self._offsets(busy), self.backend == _GROUPED)
            start.record()
            torch.cuda._sleep(cycles)
            end.record()
            started = time.perf_counter()
            for _ in range(runs):  # queued behind the sleep, so this is the host's cost alone
                torch.cuda.Event(enable_timing=True).record()
                self._forward(x, counts, offs, self.backend == _GROUPED)
                torch.cuda.Event(enable_timing=True).record()
            host_ms = 1000 * (time.perf_counter() - started) / runs
            torch.cuda.synchronize(self.device)
            self._calibration = (cycles / max(start.elapsed_time(end), 1e-3), host_ms)
        return self._calibration

    def time_tokens(self, tokens: np.ndarray) -> LayerTiming:
        """Time a layer given each slot's tokens, ``[gpus, slots_per_gpu]``."""
        tokens = np.asarray(tokens, dtype=np.int64)
        per_gpu = self.gpu_times(tokens.tolist())
        return LayerTiming(
            step_ms=max(per_gpu),
            per_gpu_ms=tuple(per_gpu),
            tokens=tuple(int(t) for t in tokens.sum(axis=1)),
            device=self.device_name,
            backend=self.backend,
            meaningful=self.meaningful,
        )

    def time_layer(self, load: Sequence[int] | np.ndarray, replicas: Any, placement: Any) -> LayerTiming:
        """Time a layer under a plan (``replicas [E]``, ``placement [G][k]``) on its routed loads ``[E]``,
        scaled by the config's ``token_scale``."""
        scaled = np.rint(np.asarray(load, dtype=np.float64) * self.config.token_scale).astype(np.int64)
        return self.time_tokens(split_tokens(scaled, replicas, placement))


_BENCHES: dict[tuple[int, int, int, GpuBenchConfig], LayerBench] = {}


def layer_bench(hidden: int, intermediate: int, slots_per_gpu: int, config: GpuBenchConfig) -> LayerBench:
    """The bench for this shape, kept for the process with its weights and timings, so that a workload is
    measured once and every program compared gets the same figure for it. Keeping only the last shape made a
    bench over mixed presets re-measure: on an H200 the same layers' ideal time then moved by up to 7% from one
    program to the next. The three presets' weights come to about 1.2 GB in bf16."""
    key = (hidden, intermediate, slots_per_gpu, config)
    if key not in _BENCHES:
        _BENCHES[key] = LayerBench(hidden, intermediate, slots_per_gpu, config)
    return _BENCHES[key]
