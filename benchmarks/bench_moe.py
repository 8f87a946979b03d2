"""Speed of the `moe` rebalancers at DeepSeek-V3 shape, and, on a GPU, how balancedness turns into step time.

Usage: python benchmarks/bench_moe.py [--repeats N] [--gpu] [--instances K]

Part 1 (always): the wall time of one `rebalance` call of each baseline and of the seed, in-process (numpy,
one core), at DeepSeek-V3 shape (58 MoE layers x 256 experts, 320 slots, 64 GPUs on 8 nodes, 8 groups) on a
history of 8 windows, hierarchical and global; median of `--repeats` calls.

Part 2 (`--gpu`, on a machine with CUDA): for each baseline's plans on the test split's DeepSeek-V3 instances,
the MoE layer's step time measured on the GPU (problems/moe/gpu.py: bf16 grouped GEMMs of each simulated
GPU's experts, CUDA events after warm-up, median of repeats, the slowest simulated GPU's time), beside its
balancedness, and the Pearson correlation between balancedness and step time over all (plan, layer) pairs.
Without CUDA it says so and stops (the CPU fallback's timings mean nothing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from problems import registry  # noqa: E402
from problems.base import seeds_dir  # noqa: E402
from problems.moe import runner  # noqa: E402
from problems.moe.instances import cluster_data  # noqa: E402
from problems.moe.loads import PRESETS, generate  # noqa: E402
from problems.moe.plan import balancedness, gpu_loads, parse_plan  # noqa: E402

PROGRAMS = ("eplb_hierarchical", "eplb_global", "seed", "lpt", "round_robin")


def load(name: str) -> types.ModuleType:
    path = seeds_dir() / "moe" / f"{name}.py"
    module = types.ModuleType(name)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


def runtimes(repeats: int) -> None:
    history = generate("deepseek-v3", 8, 0)
    print("rebalance call at DeepSeek-V3 shape (58 x 256, 320 slots, 64 GPUs, 8 nodes), in-process, median:")
    for hierarchical in (True, False):
        data = cluster_data(PRESETS["deepseek-v3"].cluster, hierarchical)
        cells = []
        for name in PROGRAMS:
            module = load(name)
            module.rebalance(history, data)  # warm-up
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                module.rebalance(history, data)
                times.append(1000 * (time.perf_counter() - started))
            cells.append(f"{name} {statistics.median(times):.1f} ms")
        print(f"- {'hierarchical' if hierarchical else 'global'}: " + ", ".join(cells))


def gpu_step_times(instances: int) -> None:
    import torch

    from problems.moe.gpu import GpuBenchConfig, describe, layer_bench, layer_subset

    if not torch.cuda.is_available():
        print("no CUDA device here: the step-time part needs a GPU (the CPU fallback's timings mean nothing)")
        return
    config = GpuBenchConfig()
    started = time.perf_counter()
    problem = registry.load("moe")
    preset = PRESETS["deepseek-v3"]
    cases = [i for i in problem.instances("test") if i.preset == "deepseek-v3"][:instances]
    bench = layer_bench(preset.hidden, preset.intermediate, preset.cluster.slots_per_gpu, config)
    print(f"MoE layer step time on {describe(config)}, {bench.backend}:")
    pairs: list[tuple[float, float]] = []
    for name in PROGRAMS:
        module = load(name)
        steps, balance = [], []
        for instance in cases:
            cluster = instance.cluster()
            plan = parse_plan(runner.run(module, instance.data), cluster, instance.hierarchical())
            future = instance.next_window()
            per_layer = balancedness(gpu_loads(plan, future.astype(float)))
            for layer in layer_subset(cluster.layers, config.layers):
                step = bench.time_layer(future[layer], plan.replicas[layer], plan.placement[layer]).step_ms
                steps.append(step)
                balance.append(float(per_layer[layer]))
                pairs.append((balance[-1], step))
        mean_step, mean_balance = np.mean(steps), np.mean(balance)
        print(f"- {name}: step {mean_step:.3f} ms (mean of {len(steps)} layers), balancedness {mean_balance:.4f}")
    b, s = np.array(pairs).T
    correlation = np.corrcoef(b, s)[0, 1]
    print(
        f"- Pearson correlation of balancedness and step time over {len(pairs)} (plan, layer) pairs: {correlation:.3f}"
    )
    print(f"- timed in {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--gpu", action="store_true", help="also time MoE layers of each plan on a CUDA GPU")
    parser.add_argument("--instances", type=int, default=4, help="DeepSeek-V3 test instances timed with --gpu")
    args = parser.parse_args()
    runtimes(args.repeats)
    if args.gpu:
        gpu_step_times(args.instances)


if __name__ == "__main__":
    main()
