"""The trusted half of ``moe``: splits, the verifier of rebalancing plans, aggregation, bounds, the GPU check.

A candidate's output is a plan made from the history; ``verify`` checks it against the cluster and judges it on
the next window, which only the framework holds (``instances.MoeInstance.future``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from problems.base import SPLITS, Instance, InstanceRun, Problem, ProblemError, ProblemSpec, Reference, Verdict
from problems.moe import instances as mi
from problems.moe import oracle
from problems.moe.plan import Plan, PlanError, bound_balancedness, judge, parse_plan

# Metrics averaged over instances in `aggregate` (the GPU ones only when timed).
_MEANS = ("balancedness", "slot_max_mean", "balancedness_bound", "max_load_over_bound")
_GPU_MEANS = ("step_ms", "ideal_step_ms", "step_over_ideal")


class MoeProblem(Problem):
    """Expert replication and placement for expert-parallel MoE inference; a candidate returns a plan."""

    # EPLB planned on the very window it is judged on sees the future; the load floor caps balancedness.
    BOUND_STATUS = {"oracle (EPLB on the next window)": "oracle", "bound (no plan passes it)": "upper bound"}

    def __init__(self, spec: ProblemSpec):
        super().__init__(spec)
        self._plans = mi.split_plans(spec.options)
        self._history = int(spec.options.get("history_windows", 8))
        if self._history < 1:
            raise ProblemError("moe: history_windows must be at least 1")
        try:
            self._files = mi.FilePlan(**spec.options.get("files", {}))
        except TypeError as exc:
            raise ProblemError(f"moe: invalid [options.files] in problem.toml ({exc})") from exc
        self._gpu: Any = None  # an problems.moe.gpu.GpuBenchConfig once use_gpu is called

    def instances(self, split: str) -> list[Instance]:
        plans = self._plans.get(split)
        if plans is None:
            raise ProblemError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        return mi.generated_instances(split, plans, self._history)

    def stress_instances(self) -> list[Instance]:
        return mi.stress_instances(self._history)

    def verify(self, instance: Instance, output: Any) -> Verdict:
        assert isinstance(instance, mi.MoeInstance)
        cluster = instance.cluster()
        try:
            plan = parse_plan(output, cluster, instance.hierarchical())
        except PlanError as exc:
            return Verdict(False, reason=f"invalid plan: {exc}")
        future = instance.next_window()
        values = judge(plan, future, cluster, instance.hierarchical())
        if self._gpu is not None:
            values.update(self._gpu_values(instance, plan, future))
        return Verdict(True, values)

    def _gpu_values(self, instance: mi.MoeInstance, plan: Plan, future: np.ndarray) -> dict[str, float]:
        """The plan's MoE-layer step time on the device, beside a perfectly balanced layer's (same tokens)."""
        from problems.moe.gpu import ideal_tokens, layer_bench, layer_subset
        from problems.moe.loads import get_preset

        preset, cluster = get_preset(instance.preset), instance.cluster()
        bench = layer_bench(preset.hidden, preset.intermediate, cluster.slots_per_gpu, self._gpu)
        steps, ideals = [], []
        for layer in layer_subset(cluster.layers, self._gpu.layers):
            steps.append(bench.time_layer(future[layer], plan.replicas[layer], plan.placement[layer]).step_ms)
            total = int(round(future[layer].sum() * self._gpu.token_scale))
            ideals.append(bench.time_tokens(ideal_tokens(total, cluster.gpus, cluster.slots_per_gpu)).step_ms)
        step, ideal = float(np.mean(steps)), float(np.mean(ideals))
        return {"step_ms": step, "ideal_step_ms": ideal, "step_over_ideal": step / ideal if ideal > 0 else 1.0}

    def aggregate(self, runs: Sequence[InstanceRun]) -> dict[str, float]:
        """Means over instances (each weighs the same); ``runtime_ms`` is the mean time of one call."""
        if not runs:
            raise ProblemError("moe: nothing to aggregate (no instance runs)")
        if not all(r.verdict.feasible for r in runs):
            raise ProblemError("moe: aggregate takes feasible runs only")
        values = [r.verdict.values for r in runs]
        names = _MEANS + tuple(n for n in _GPU_MEANS if all(n in v for v in values))
        result = {name: float(np.mean([v[name] for v in values])) for name in names}
        result["runtime_ms"] = 1000.0 * sum(r.seconds for r in runs) / len(runs)
        return result

    def bound(self, instance: Instance) -> Reference:
        """The best balancedness any plan could reach on the next window (``plan.bound_balancedness``)."""
        assert isinstance(instance, mi.MoeInstance)
        value = bound_balancedness(instance.next_window(), instance.cluster(), instance.hierarchical())
        return Reference(value, "bound", "load floor: total / gpus, least largest replica, busiest node")

    def bench_bounds(self, instances: Sequence[Instance]) -> dict[str, dict[str, float]]:
        """Rows beside the baselines: EPLB planned on the judged window itself, and the proven bound."""
        if not instances:
            return {}
        foresight = [oracle.foresight_metrics(i) for i in instances if isinstance(i, mi.MoeInstance)]
        rows = {"oracle (EPLB on the next window)": {k: float(np.mean([m[k] for m in foresight])) for k in _MEANS}}
        bound = float(np.mean([self.bound(i).value for i in instances]))
        rows["bound (no plan passes it)"] = {"balancedness": bound, "balancedness_bound": bound}
        return rows

    def load_instances(self, path: Path) -> list[Instance]:
        """Instances of a recorded load trace (``.npz`` or ``.csv``, see ``problems/moe/load_files.py``)."""
        path = Path(path)
        if not path.is_file():
            raise ProblemError(f"{path}: no such instance file")
        return mi.file_instances(path, self._files, self._history)

    def use_gpu(self, config: Any) -> None:
        """Time every feasible plan's MoE layers on the device of ``config`` (``problems.moe.gpu``) too."""
        self._gpu = config


def make(spec: ProblemSpec) -> MoeProblem:
    """The problem object the registry asks for."""
    return MoeProblem(spec)
