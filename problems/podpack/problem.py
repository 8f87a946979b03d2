"""The trusted half of ``podpack``: splits, the verifier of decision logs, aggregation and the CP-SAT reference.

A candidate's output is the log of its decisions, one per pod in arrival order; ``verify`` replays it on its
own copy of the cluster with the same rules (``cluster.py``), so every capacity, GPU share, model constraint and
preemption is checked again, and computes every figure itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from problems.base import (
    SPLITS,
    Instance,
    InstanceRun,
    Problem,
    ProblemError,
    ProblemSpec,
    Reference,
    Verdict,
    check_unique_seeds,
)
from problems.podpack import instances, references
from problems.podpack.cluster import FULL, PRIORITIES, Cluster, Infeasible

PRIORITY_NAMES = ("low", "mid", "high")
_SUMS = ("gpu_capacity", "gpu_allocated", "gpu_demand", "preempted", "pods")


class PodpackProblem(Problem):
    """Pod placement in a GPU-sharing cluster; a candidate scores placements (docs/podpack.md)."""

    def __init__(self, spec: ProblemSpec):
        super().__init__(spec)
        options = spec.options
        self._generator = instances.Generator.from_options(options.get("generator", {}))
        self.reference_limit = float(options.get("reference_limit", 120.0))
        try:
            raw = {name: options["splits"][name] for name in SPLITS}
        except (KeyError, TypeError) as exc:
            raise ProblemError(f"podpack: [options.splits] lacks {exc}") from None
        self._groups = {
            name: [instances.Group.from_options(g, f"[[options.splits.{name}]]") for g in groups]
            for name, groups in raw.items()
        }
        check_unique_seeds(
            "podpack", [(name, seed) for name, groups in self._groups.items() for g in groups for _, seed in g.seeds()]
        )
        self._built: dict[str, list[Instance]] = {}

    def instances(self, split: str) -> list[Instance]:
        if split == "full":
            return [instances.full_trace()]
        if split not in self._groups:
            raise ProblemError(f"unknown split {split!r}; choose one of {', '.join([*self._groups, 'full'])}")
        if split not in self._built:
            cases = [(g, size, seed) for g in self._groups[split] for size, seed in g.seeds()]
            self._built[split] = [
                instances.build(split, k, g, size, seed, self._generator) for k, (g, size, seed) in enumerate(cases)
            ]
        return self._built[split]

    def stress_instances(self) -> list[Instance]:
        """Clusters and pods unlike train's, where a tuned policy may break: no pod at all, one node, CPU-only
        pods, tiny GPU shares, 8-GPU pods only, every GPU pod limited to one model, a CPU-only node beside GPU
        ones, and a high-priority wave after a low one (preemption). Checked for valid logs, never scored."""
        gpu_nodes = [[96000, 393216, 8, "G2"], [104000, 524288, 2, "T4"], [32000, 131072, 4, "V100M16"]]
        low_then_high = [[2000, 4096, 1, 1000, [], 0]] * 14 + [[2000, 4096, 1, 1000, [], 2]] * 14
        cases = {
            "no-pods": (gpu_nodes, []),
            "one-node": ([[8000, 32768, 1, "V100M16"]], [[1000, 2048, 1, 300, [], 1]] * 5),
            "cpu-only": (gpu_nodes + [[32000, 262144, 0, ""]], [[4000, 8192, 0, 0, [], 0]] * 60),
            "tiny-shares": (gpu_nodes, [[100, 256, 1, 10 + 7 * (k % 5), [], k % 3] for k in range(300)]),
            "eight-gpu": (gpu_nodes * 2, [[8000, 32768, 8, 1000, [], 2]] * 4),
            "one-model": (gpu_nodes, [[2000, 4096, 1, 500, ["T4"], 1]] * 8),
            "preemption-wave": (gpu_nodes, low_then_high),
        }
        return [
            Instance(f"stress-{name}", name, {"kind": "arrivals", "nodes": nodes, "pods": [list(p) for p in pods]})
            for name, (nodes, pods) in cases.items()
        ]

    def extra_splits(self) -> tuple[str, ...]:
        """``full``: the whole default trace (8,152 pods in creation order) on all 1,523 nodes, FGD's setting."""
        return ("full",)

    def verify(self, instance: Instance, output: Any) -> Verdict:
        data = instance.data
        pods = data["pods"]
        if type(output) is not list or len(output) != len(pods):
            return Verdict(False, reason=f"expected a list of {len(pods)} decisions, got {str(output)[:80]!r}")
        state = Cluster(data["nodes"], pods)
        for index, decision in enumerate(output):
            try:
                state.apply(index, decision)
            except Infeasible as exc:
                return Verdict(False, reason=str(exc))
        values = placement_values(data, state)
        if data["kind"] == "snapshot":
            record = references.optimum(data, self.reference_limit)
            for p in range(PRIORITIES):
                values[f"ref_placed_{p}"] = float(record["placed"][p])
        return Verdict(True, values)

    def aggregate(self, runs: Sequence[InstanceRun]) -> dict[str, float]:
        if not runs or not all(r.verdict.feasible for r in runs):
            raise ProblemError("podpack: aggregate takes one or more feasible runs")
        total = {name: sum(r.verdict.values[name] for r in runs) for name in _SUMS}
        metrics = _rates(total, [r.verdict.values for r in runs])
        seconds = sum(r.seconds for r in runs)
        metrics["time_ms"] = 1000.0 * seconds / len(runs)
        metrics["decision_us"] = 1e6 * seconds / max(total["pods"], 1.0)
        referenced = [r.verdict.values for r in runs if "ref_placed_0" in r.verdict.values]
        below = sum(_triple(v, "placed") < _triple(v, "ref_placed") for v in referenced)
        metrics["below_cpsat"] = 100.0 * below / len(referenced) if referenced else 0.0
        return metrics

    def bound(self, instance: Instance) -> Reference | None:
        """For a snapshot, the pods CP-SAT places: proven optimal, or its best placement within its limit."""
        if instance.data["kind"] != "snapshot":
            return None
        record = references.optimum(instance.data, self.reference_limit)
        kind = "optimum" if record["status"] == "optimal" else "computed"
        return Reference(float(sum(record["placed"])), kind, "cp-sat")

    def bench_bounds(self, instances_: Sequence[Instance]) -> dict[str, dict[str, float]]:
        """CP-SAT's placement of a set of snapshots (pods placed per priority, lexicographically, as Priority
        Matters), and where it is not proven optimal, its proven bound as a second row. Only for a set of
        snapshots alone: arrival sequences have no such reference, so a mixed set shows none."""
        if not instances_ or any(i.data["kind"] != "snapshot" for i in instances_):
            return {}
        records = [(i.data, references.optimum(i.data, self.reference_limit)) for i in instances_]
        optimal = all(record["status"] == "optimal" for _, record in records)
        rows = {"CP-SAT optimum" if optimal else "CP-SAT best": _reference_row(records, "placed")}
        if not optimal:
            rows["CP-SAT bound"] = _reference_row(records, "bound")
        return rows

    def bound_status(self, name: str) -> str:
        return {"CP-SAT optimum": "optimal", "CP-SAT best": "feasible", "CP-SAT bound": "upper bound"}.get(
            name, super().bound_status(name)
        )

    def load_instances(self, path: Path) -> list[Instance]:
        """A node list and a pod list in the trace's CSV format: ``path`` is a folder holding
        ``openb_node_list_*.csv`` (or ``nodes.csv``) and one or more pod lists, or a pod list with the node list
        beside it. Pods arrive in the file's order; a file whose name contains ``snapshot`` is a snapshot."""
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        node_files = sorted(folder.glob("openb_node_list_all_node.csv")) or sorted(folder.glob("*node*.csv"))
        if not node_files:
            raise ProblemError(f"{folder}: no node list (a *node*.csv in the trace's format) beside the pods")
        pod_files = [path] if path.is_file() else sorted(p for p in folder.glob("*.csv") if "node" not in p.name)
        if not pod_files:
            raise ProblemError(f"{folder}: no pod list (*.csv without 'node' in its name)")
        return [
            instances.from_files(node_files[0], pods, "snapshot" if "snapshot" in pods.name else "arrivals")
            for pods in pod_files
        ]


def placement_values(data: dict, state: Cluster) -> dict[str, float]:
    """The figures of a cluster after a whole instance: GPU capacity, allocation and demand (milli-GPU), pods
    per priority placed and in all, pods preempted."""
    pods = data["pods"]
    capacity = FULL * sum(node[2] for node in data["nodes"])
    values = {
        "gpu_capacity": float(capacity),
        "gpu_allocated": float(capacity - sum(sum(free) for free in state.gpu_free)),
        "gpu_demand": float(sum(pod[2] * pod[3] for pod in pods)),
        "preempted": float(len(state.evicted)),
        "pods": float(len(pods)),
    }
    for p in range(PRIORITIES):
        values[f"total_{p}"] = float(sum(pod[5] == p for pod in pods))
        values[f"placed_{p}"] = float(sum(pods[i][5] == p for i in state.where))
    return values


def _rates(total: dict[str, float], values: list[dict[str, float]]) -> dict[str, float]:
    capacity = max(total["gpu_capacity"], 1.0)
    metrics = {
        "unallocated": 100.0 * (capacity - total["gpu_allocated"]) / capacity,
        "allocated": 100.0 * total["gpu_allocated"] / capacity,
        "preemptions": 100.0 * total["preempted"] / max(total["pods"], 1.0),
    }
    for p, name in enumerate(PRIORITY_NAMES):
        asked = sum(v[f"total_{p}"] for v in values)
        placed = sum(v[f"placed_{p}"] for v in values)
        metrics[f"pending_{name}"] = 100.0 * (asked - placed) / asked if asked else 0.0
    return metrics


def _triple(values: dict[str, float], prefix: str) -> tuple[float, ...]:
    """Pods placed, highest priority first: compared as tuples, the lexicographic order of Priority Matters."""
    return tuple(values[f"{prefix}_{p}"] for p in reversed(range(PRIORITIES)))


def _reference_row(records: list[tuple[dict, dict]], field: str) -> dict[str, float]:
    """Metrics of CP-SAT's ``placed`` (its placement) or ``bound`` (its proven limit) over the snapshots."""
    values = []
    for data, record in records:
        counts = record[field]
        row = {f"total_{p}": float(sum(pod[5] == p for pod in data["pods"])) for p in range(PRIORITIES)}
        row |= {f"placed_{p}": float(counts[p]) for p in range(PRIORITIES)}
        values.append(row)
    metrics = _rates({"gpu_capacity": 0.0, "gpu_allocated": 0.0, "preempted": 0.0, "pods": 1.0}, values)
    if field == "placed":
        capacity = sum(FULL * sum(node[2] for node in data["nodes"]) for data, _ in records)
        metrics |= _rates(
            {
                "gpu_capacity": capacity,
                "gpu_allocated": sum(r["gpu_allocated"] for _, r in records),
                "preempted": 0.0,
                "pods": 1.0,
            },
            values,
        )
    else:
        del metrics["unallocated"], metrics["allocated"]
    metrics["preemptions"] = 0.0
    return metrics


def make(spec: ProblemSpec) -> PodpackProblem:
    """The problem object the registry asks for."""
    return PodpackProblem(spec)
