"""Instances of ``moe``: a window of a load trace, its history for the candidate and its next window for the
verifier.

An instance's ``data`` (what the sandbox hands the candidate) holds the packed history up to window ``w`` and the
cluster; the next window ``w + 1``, on which the plan is judged, stays outside it, in ``MoeInstance.future``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from problems.base import SPLITS, Instance, ProblemError, check_unique_seeds
from problems.moe.loads import PRESETS, Cluster, Preset, generate, get_preset, load_file
from problems.moe.runner import decode_loads, encode_loads


@dataclass(frozen=True)
class MoeInstance(Instance):
    """An instance with the window its plan is judged on.

    Attributes:
        future: the next window's loads [layers, experts], packed as ``runner.encode_loads`` packs them.
        preset: the preset whose model sizes the GPU verifier uses.
    """

    future: dict[str, Any] = field(default_factory=dict, compare=False)
    preset: str = ""

    def cluster(self) -> Cluster:
        return Cluster.from_dict(self.data["cluster"])

    def hierarchical(self) -> bool:
        return bool(self.data["cluster"]["hierarchical"])

    def next_window(self) -> np.ndarray:
        return decode_loads(self.future)


@dataclass(frozen=True)
class TracePlan:
    """One generated trace of a split and the windows it yields instances at.

    Attributes:
        preset: key of ``loads.PRESETS``.
        seed: seed of the generator; unique across all splits.
        windows: each window ``w`` makes an instance: history up to ``w``, judged on ``w + 1``.
        hierarchical: whether plans must keep every expert group on one node.
        loads: overrides of the preset's ``LoadModel`` (e.g. ``{skew = 0.9, drift = 0.6}``), for regimes beyond
            the preset's own: heavier skew, faster drift, more bursts.
    """

    preset: str
    seed: int
    windows: tuple[int, ...]
    hierarchical: bool = False
    loads: tuple[tuple[str, float], ...] = ()

    @property
    def group(self) -> str:
        regime = "".join(f"/{name}{value:g}" for name, value in self.loads)
        return f"{self.preset}/{'hierarchical' if self.hierarchical else 'global'}{regime}"

    def load_preset(self) -> Preset:
        """The preset with this plan's load overrides."""
        preset = get_preset(self.preset)
        return replace(preset, load_model=replace(preset.load_model, **dict(self.loads))) if self.loads else preset


@dataclass(frozen=True)
class FilePlan:
    """How ``load_instances`` turns a recorded trace into instances (``[options.files]`` in problem.toml).

    Attributes:
        preset: the preset whose cluster (with the file's layer count) the plans are for; empty: the one preset
            with the file's number of experts.
        hierarchical: whether plans must keep every expert group on one node.
        stride: an instance every ``stride`` windows.
        max_instances: at most this many instances, the last windows of the file.
    """

    preset: str = ""
    hierarchical: bool = False
    stride: int = 1
    max_instances: int = 50


def split_plans(options: dict[str, Any]) -> dict[str, list[TracePlan]]:
    """Trace plans from ``[options.splits]``; ProblemError when one is missing or malformed or shares a seed."""
    try:
        plans = {
            name: [
                TracePlan(
                    raw["preset"],
                    int(raw["seed"]),
                    tuple(int(w) for w in raw["windows"]),
                    bool(raw.get("hierarchical", False)),
                    tuple((str(k), float(v)) for k, v in sorted(raw.get("loads", {}).items())),
                )
                for raw in options["splits"][name]["instances"]
            ]
            for name in SPLITS
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ProblemError(f"moe: invalid [options.splits] in problem.toml ({exc!r})") from exc
    for name, plan in plans.items():
        for item in plan:
            if item.preset not in PRESETS:
                raise ProblemError(f"moe: split {name} names unknown preset {item.preset!r}")
            if not item.windows or min(item.windows) < 0:
                raise ProblemError(f"moe: split {name}, seed {item.seed}: windows must be a non-empty list >= 0")
            try:
                item.load_preset()
            except (TypeError, ValueError) as exc:
                raise ProblemError(f"moe: split {name}, seed {item.seed}: invalid loads ({exc})") from None
    check_unique_seeds("moe", [(name, item.seed) for name, plan in plans.items() for item in plan])
    return plans


def cluster_data(cluster: Cluster, hierarchical: bool) -> dict[str, Any]:
    """The ``cluster`` dict a candidate receives: the shape, its derived sizes and the hierarchy flag."""
    return {
        **cluster.to_dict(),
        "slots_per_gpu": cluster.slots_per_gpu,
        "gpus_per_node": cluster.gpus_per_node,
        "experts_per_group": cluster.experts_per_group,
        "hierarchical": hierarchical,
    }


def window_instance(
    instance_id: str,
    group: str,
    trace: np.ndarray,
    window: int,
    history: int,
    preset: Preset,
    cluster: Cluster,
    hierarchical: bool,
) -> MoeInstance:
    """The instance at ``window`` of ``trace`` [W, L, E]: up to ``history`` windows ending there, judged on the
    next one."""
    past = trace[max(0, window - history + 1) : window + 1]
    data = {"history": encode_loads(past), "cluster": cluster_data(cluster, hierarchical)}
    return MoeInstance(instance_id, group, data, future=encode_loads(trace[window + 1]), preset=preset.name)


def generated_instances(split: str, plans: list[TracePlan], history: int) -> list[Instance]:
    instances: list[Instance] = []
    for plan in plans:
        preset = plan.load_preset()
        trace = generate(preset, max(plan.windows) + 2, plan.seed)
        for window in plan.windows:
            instance_id = f"{split}-{len(instances):03d}"
            instances.append(
                window_instance(
                    instance_id, plan.group, trace, window, history, preset, preset.cluster, plan.hierarchical
                )
            )
    return instances


def stress_instances(history: int) -> list[Instance]:
    """Loads far from train's, for the robustness stage: every preset's model with heavy skew (log-popularity
    deviation 1.6 instead of 0.3-0.45) and frequent tenfold bursts, on 4 layers, at the first window (a history
    of one window) and at the third."""
    instances: list[Instance] = []
    for seed, (name, hierarchical) in enumerate(
        (("deepseek-v3", True), ("deepseek-v3", False), ("qwen3-moe", False), ("mixtral-8x7b", False)), 900
    ):
        base = get_preset(name)
        loads = replace(base.load_model, skew=1.6, burst_rate=0.05, burst_factor=10.0)
        cluster = Cluster(**{**base.cluster.to_dict(), "layers": 4})
        preset = replace(base, cluster=cluster, load_model=loads)
        trace = generate(preset, 4, seed)
        group = f"stress/{name}/{'hierarchical' if hierarchical else 'global'}/heavy-skew"
        for window in (0, 2):
            instance_id = f"stress-{len(instances):03d}"
            instances.append(window_instance(instance_id, group, trace, window, history, base, cluster, hierarchical))
    return instances


def _preset_for(trace: np.ndarray, files: FilePlan, path: Path) -> Preset:
    experts = trace.shape[2]
    if files.preset:
        preset = get_preset(files.preset)
        if preset.cluster.experts != experts:
            raise ProblemError(f"{path}: {experts} experts, but preset {preset.name} has {preset.cluster.experts}")
        return preset
    matches = [p for p in PRESETS.values() if p.cluster.experts == experts]
    if len(matches) != 1:
        known = ", ".join(f"{p.name} ({p.cluster.experts})" for p in PRESETS.values())
        raise ProblemError(
            f"{path}: {experts} experts match {len(matches)} presets; set [options.files] preset (presets: {known})"
        )
    return matches[0]


def file_instances(path: Path, files: FilePlan, history: int) -> list[Instance]:
    """Instances of a recorded trace file: one every ``stride`` windows, each judged on the window after it."""
    trace = load_file(path)
    if trace.shape[0] < 2:
        raise ProblemError(f"{path}: a trace needs at least 2 windows (a history and the window it is judged on)")
    if files.stride < 1 or files.max_instances < 1:
        raise ProblemError("moe: [options.files] stride and max_instances must be at least 1")
    preset = _preset_for(trace, files, path)
    try:
        cluster = Cluster(**{**preset.cluster.to_dict(), "layers": trace.shape[1]})
    except ValueError as exc:
        raise ProblemError(f"{path}: {exc}") from None
    windows = list(range(trace.shape[0] - 2, -1, -files.stride))[: files.max_instances][::-1]
    mode = "hierarchical" if files.hierarchical else "global"
    return [
        window_instance(
            f"{path.stem}-{k:03d}", f"{path.stem}/{mode}", trace, window, history, preset, cluster, files.hierarchical
        )
        for k, window in enumerate(windows)
    ]
