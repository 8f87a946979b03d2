"""The GPU microbenchmark verifier of moe: token split, clear errors without torch, and the CPU path."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from evolve.cli.main import main
from problems import registry
from problems.base import Problem, ProblemError, seeds_dir
from problems.moe.gpu import (
    GpuBenchConfig,
    GpuUnavailable,
    LayerBench,
    describe,
    ideal_tokens,
    layer_bench,
    layer_subset,
    split_tokens,
)

try:
    HAS_TORCH = importlib.util.find_spec("torch") is not None
except ValueError:  # torch blocked in sys.modules
    HAS_TORCH = False
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed (optional: pip install 'adrs[gpu]')")
CPU = GpuBenchConfig(warmup=1, repeats=3, device="cpu")


def random_plan(rng: np.random.Generator, experts: int, gpus: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every expert once, the spare slots given to random experts, slots shuffled over the GPUs."""
    extra = rng.integers(0, experts, gpus * k - experts)
    flat = rng.permutation(np.concatenate([np.arange(experts), extra]))
    return np.bincount(flat, minlength=experts), flat.reshape(gpus, k)


def test_split_gives_each_expert_its_load_spread_over_its_replicas_within_one_token():
    rng = np.random.default_rng(3)
    for _ in range(50):
        experts, gpus, k = int(rng.integers(1, 40)), int(rng.integers(1, 9)), int(rng.integers(1, 6))
        if gpus * k < experts:
            continue
        replicas, placement = random_plan(rng, experts, gpus, k)
        load = rng.integers(0, 1000, experts) * (rng.random(experts) < 0.8)
        tokens = split_tokens(load, replicas, placement)
        assert tokens.shape == placement.shape and tokens.dtype == np.int64
        for e in range(experts):
            shares = tokens[placement == e]
            assert shares.sum() == load[e]
            assert shares.max() - shares.min() <= 1


def test_split_rejects_replica_counts_that_disagree_with_the_placement():
    with pytest.raises(ValueError, match="disagree"):
        split_tokens([5, 5], [1, 1], [[0, 0]])


def test_ideal_layer_spreads_the_total_over_every_slot_within_one_token():
    tokens = ideal_tokens(1003, 4, 3)
    assert tokens.sum() == 1003 and tokens.max() - tokens.min() <= 1
    assert np.ptp(tokens.sum(axis=1)) <= 1


def test_layer_subset_is_evenly_spaced_and_all_layers_when_asked_for_none():
    assert layer_subset(58, 4) == [0, 19, 38, 57]
    assert layer_subset(5, 0) == layer_subset(5, 9) == [0, 1, 2, 3, 4]


def test_a_problem_without_a_gpu_verifier_says_so():
    problem = registry.load("tardiness")
    with pytest.raises(ProblemError, match="tardiness has no GPU verifier"):
        problem.use_gpu(GpuBenchConfig())


def test_eval_gpu_on_a_problem_without_a_gpu_verifier_is_one_clear_line(capsys):
    assert main(["eval", "tardiness", str(seeds_dir() / "tardiness/edd.py"), "--gpu"]) == 2
    err = capsys.readouterr().err
    assert "tardiness has no GPU verifier" in err and "Traceback" not in err


def test_eval_gpu_without_torch_names_the_extra_to_install(monkeypatch, capsys):
    monkeypatch.setattr(Problem, "use_gpu", lambda self, config: None)  # a problem that has a GPU verifier
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail, installed or not
    with pytest.raises(GpuUnavailable, match=r"pip install 'adrs\[gpu\]'"):
        describe(GpuBenchConfig())
    assert main(["eval", "tardiness", str(seeds_dir() / "tardiness/edd.py"), "--gpu"]) == 2
    err = capsys.readouterr().err
    assert "needs torch" in err and "pip install 'adrs[gpu]'" in err and "Traceback" not in err


@needs_torch
def test_asking_for_cuda_where_there_is_none_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(GpuUnavailable, match="no CUDA"):
        describe(GpuBenchConfig(device="cuda"))


@needs_torch
def test_grouped_gemm_and_the_matmul_loop_compute_the_same_layer_on_the_cpu():
    bench = LayerBench(640, 1280, 4, CPU)
    counts = [0, 23, 7, 41]
    x = bench._inputs(sum(counts))
    want = bench._forward(x, counts, None, grouped=False)
    assert want.shape == (71, 10) and bool(want.isfinite().all())
    if bench.backend.startswith("torch._grouped_mm"):
        got = bench._forward(x, counts, bench._offsets(counts), grouped=True)
        assert float((got - want).norm() / want.norm()) < 1e-4


@needs_torch
def test_cpu_layer_times_every_gpu_and_marks_the_timings_not_meaningful():
    rng = np.random.default_rng(0)
    experts, gpus, k = 16, 4, 5
    replicas, placement = random_plan(rng, experts, gpus, k)
    load = rng.integers(50, 400, experts)
    bench = layer_bench(640, 1280, k, CPU)
    assert layer_bench(640, 1280, k, CPU) is bench  # weights and timings are kept across calls
    layer_bench(320, 640, k, CPU)
    assert layer_bench(640, 1280, k, CPU) is bench, "another shape in between (a mixed-preset bench) keeps it too"
    timing = bench.time_layer(load, replicas, placement)
    assert not timing.meaningful and timing.device == "cpu"
    assert timing.backend in ("torch._grouped_mm",) or timing.backend.startswith("matmul loop")
    assert len(timing.per_gpu_ms) == gpus and all(ms > 0 for ms in timing.per_gpu_ms)
    assert timing.step_ms == max(timing.per_gpu_ms)
    assert sum(timing.tokens) == load.sum()


@needs_torch
def test_all_load_on_one_gpu_gives_it_all_the_work_and_the_step_time():
    experts, gpus, k = 8, 4, 2
    load = np.full(experts, 600)
    balanced = np.arange(experts).reshape(gpus, k)
    # Experts 0 and 1 carry everything and sit on GPU 0; the others get no tokens.
    skewed_load = np.zeros(experts, dtype=np.int64)
    skewed_load[:2] = load.sum() // 2
    bench = layer_bench(640, 1280, k, CPU)
    even = bench.time_layer(load, np.ones(experts), balanced)
    skewed = bench.time_layer(skewed_load, np.ones(experts), balanced)
    assert skewed.tokens == (load.sum(), 0, 0, 0) and max(even.tokens) == load.sum() // gpus
    assert skewed.per_gpu_ms[1:] == (0.0, 0.0, 0.0)  # idle GPUs do nothing
    assert skewed.step_ms == skewed.per_gpu_ms[0]


@needs_torch
def test_gpus_with_the_same_token_counts_in_any_order_share_one_cached_timing():
    bench = layer_bench(640, 1280, 3, CPU)
    timing = bench.time_tokens(np.array([[5, 90, 40], [40, 5, 90], [90, 40, 5]]))
    assert len(set(timing.per_gpu_ms)) == 1


class CountingBench:
    """A stand-in for the device: a GPU's time is its token count, so step times can be checked by hand."""

    def __init__(self):
        self.layers_timed: list[int] = []

    def time_layer(self, load, replicas, placement):
        self.layers_timed.append(int(np.asarray(load).sum()))
        return self.time_tokens(split_tokens(load, replicas, placement))

    def time_tokens(self, tokens):
        per_gpu = np.asarray(tokens).sum(axis=1)
        return type("Timing", (), {"step_ms": float(per_gpu.max())})()


def test_the_moe_verifier_times_the_judged_window_beside_a_perfectly_balanced_layer(monkeypatch):
    import problems.moe.gpu as moe_gpu

    bench = CountingBench()
    monkeypatch.setattr(moe_gpu, "layer_bench", lambda *args: bench)
    problem = registry.load("moe")
    problem.use_gpu(GpuBenchConfig(layers=2))
    instance = next(i for i in problem.instances("smoke") if i.group.startswith("mixtral"))
    future = instance.next_window()
    # Every expert on the first two GPUs, one slot each: those GPUs carry everything.
    placement = [[0, 1], [2, 3], [4, 5], [6, 7]] + [[-1, -1]] * 4
    plan = {"replicas": [[1] * 8] * 32, "placement": [placement] * 32}
    values = problem.verify(instance, plan).values
    timed = layer_subset(32, 2)
    assert bench.layers_timed == [int(future[layer].sum()) for layer in timed]
    steps = [max(future[layer][2 * g] + future[layer][2 * g + 1] for g in range(4)) for layer in timed]
    ideal = [-(-int(future[layer].sum()) // 8) for layer in timed]  # the total over 8 GPUs, rounded up
    assert values["step_ms"] == pytest.approx(np.mean(steps))
    assert values["ideal_step_ms"] == pytest.approx(np.mean(ideal))
    assert values["step_over_ideal"] == pytest.approx(np.mean(steps) / np.mean(ideal))
