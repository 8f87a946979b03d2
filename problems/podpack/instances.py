"""Instances: clusters and pod sequences, built from the trace or from a generator with its distributions.

A split is a list of groups (``[[options.splits.NAME]]`` in problem.toml), each ``count`` instances per cluster
size in ``nodes``, seeded from ``seed`` upwards:

- ``arrivals``: FGD's setting. Pods drawn at random from the trace (with replacement, as its simulator inflates
  the workload) arrive one at a time, none leaves, until their GPU requests reach ``load`` times the cluster's
  GPUs: the cluster saturates.
- ``snapshot``: Priority Matters' setting. The same kind of batch, pending at once, in the scheduler's queue
  order (priority, then arrival); the CP-SAT optimum places it as a whole (``exact.py``).

``source = "trace"`` samples nodes from the trace's node list and pods from a pool of its pod list: train (and
smoke) draws from pods whose row number is not a multiple of 3 plus 1, test from the others, so no pod row is
in both. Without the trace files, such instances are generated instead, with a warning, and their group ends
in ``-syn``. ``source = "synthetic"`` always generates: node types from the trace's mix, pods from log-normal
CPU and memory per GPU class (``[options.generator]``, fitted to the trace, checked by the tests), for sizes the
trace does not have. Pods that fit on no node of the cluster even when empty are not drawn.
"""

from __future__ import annotations

import functools
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from problems.base import Instance, ProblemError, data_dir
from problems.podpack import trace
from problems.podpack.cluster import FULL

KINDS = ("arrivals", "snapshot")
_WARNED: set[str] = set()


@dataclass(frozen=True)
class Group:
    """One ``[[options.splits.NAME]]`` table."""

    kind: str
    source: str  # "trace" or "synthetic"
    nodes: tuple[int, ...]  # cluster sizes
    count: int  # instances per size
    load: float  # arrived GPU requests / the cluster's GPUs
    seed: int  # of the first instance; the others follow
    typed: float = 0.0  # share of GPU pods limited to one or two of the cluster's GPU models (FGD's typed trace)

    @classmethod
    def from_options(cls, raw: dict, where: str) -> Group:
        try:
            group = cls(
                str(raw["kind"]),
                str(raw.get("source", "trace")),
                tuple(int(n) for n in raw["nodes"]),
                int(raw.get("count", 1)),
                float(raw["load"]),
                int(raw["seed"]),
                float(raw.get("typed", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProblemError(f"podpack: {where}: invalid group ({exc!r})") from None
        if group.kind not in KINDS or group.source not in ("trace", "synthetic"):
            raise ProblemError(f"podpack: {where}: kind is one of {KINDS} and source trace or synthetic")
        if min(group.nodes, default=0) < 1 or group.count < 1 or not 0 < group.load <= 10 or not 0 <= group.typed <= 1:
            raise ProblemError(f"podpack: {where}: nodes and count must be >= 1, load in (0, 10] and typed in [0, 1]")
        return group

    def seeds(self) -> list[tuple[int, int]]:
        """(cluster size, seed) of each instance."""
        sizes = [n for n in self.nodes for _ in range(self.count)]
        return [(n, self.seed + k) for k, n in enumerate(sizes)]


@dataclass(frozen=True)
class Generator:
    """The trace's distributions (``[options.generator]``), for clusters and pods the trace does not have."""

    node_types: tuple[tuple, ...]  # (cpu, mem, gpus, model, weight)
    pod_classes: tuple[dict, ...]  # share, num_gpu, cpu [mu, sigma], mem_per_cpu [mu, sigma], priority [3 shares]
    sharing_milli: tuple[float, ...]  # shares of sharing pods asking 1-100, 101-200, ... 901-999 milli-GPU

    @classmethod
    def from_options(cls, raw: dict) -> Generator:
        try:
            types = tuple((int(c), int(m), int(g), str(mo), float(w)) for c, m, g, mo, w in raw["node_types"])
            classes = tuple(dict(c) for c in raw["pod_classes"])
            for c in classes:
                c["share"], c["num_gpu"] = float(c["share"]), int(c["num_gpu"])
                c["cpu"], c["mem_per_cpu"] = [float(x) for x in c["cpu"]], [float(x) for x in c["mem_per_cpu"]]
                c["priority"] = [float(x) for x in c["priority"]]
            return cls(types, classes, tuple(float(x) for x in raw["sharing_milli"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProblemError(f"podpack: invalid [options.generator] in problem.toml ({exc!r})") from None

    def nodes(self, count: int, rng: random.Random) -> list[list]:
        picks = rng.choices(self.node_types, weights=[t[4] for t in self.node_types], k=count)
        return [[c, m, g, model] for c, m, g, model, _ in picks]

    def pod(self, rng: random.Random) -> list:
        kind = rng.choices(self.pod_classes, weights=[c["share"] for c in self.pod_classes])[0]
        count = kind["num_gpu"]
        if count == 1 and kind.get("sharing"):
            bucket = rng.choices(range(len(self.sharing_milli)), weights=self.sharing_milli)[0]
            milli = min(10 * rng.randint(10 * bucket + 1, 10 * bucket + 10), FULL - 10)
        else:
            milli = FULL if count else 0
        cpu = max(100, 100 * round(math.exp(rng.gauss(*kind["cpu"])) / 100))
        mem = max(256, 256 * round(cpu * math.exp(rng.gauss(*kind["mem_per_cpu"])) / 256))
        priority = rng.choices(range(3), weights=kind["priority"])[0]
        return [cpu, mem, count, milli, [], priority]


def build(split: str, index: int, group: Group, size: int, seed: int, generator: Generator) -> Instance:
    """One instance of a split's group."""
    rng = random.Random(seed)
    source = group.source
    if source == "trace" and trace.trace_files() is None:
        _warn_missing()
        source = "synthetic"
    if source == "trace":
        all_nodes, pods = _trace()
        if size > len(all_nodes):
            raise ProblemError(f"podpack: the trace has {len(all_nodes)} nodes, a group asks for {size}")
        nodes = [all_nodes[i] for i in sorted(rng.sample(range(len(all_nodes)), size))]
        pool = [row for i, row in enumerate(pods) if (i % 3 == 2) == (split == "test")]
        draw = lambda: list(rng.choice(pool))  # noqa: E731
    else:
        nodes = generator.nodes(size, rng)
        draw = lambda: generator.pod(rng)  # noqa: E731
    if group.typed:
        draw = _typed(draw, sorted({node[3] for node in nodes if node[2]}), group.typed, rng)
    batch = _arrivals(nodes, draw, group.load, f"{split} group {group.kind} seed {seed}")
    if group.kind == "snapshot":
        batch.sort(key=lambda pod: -pod[5])  # stable: arrival order within a priority
    name = f"{group.kind}{'-typed' if group.typed else ''}-n{size}" + ("-syn" if source != group.source else "")
    return Instance(f"{split}-{index:03d}", name, {"kind": group.kind, "nodes": nodes, "pods": batch})


def full_trace() -> Instance:
    """The whole trace: every pod of the default list in creation order on all 1,523 nodes (FGD's cluster)."""
    if trace.trace_files() is None:
        raise ProblemError(
            f"podpack: the split 'full' replays the trace itself, which is not in {data_dir() / trace.SUBFOLDER}"
            " (set ADRS_DATA_DIR to the folder holding alibaba-gpu-2023/; alibaba/clusterdata on GitHub, "
            "cluster-trace-gpu-v2023)"
        )
    nodes, pods = _trace()
    return Instance("full-000", "trace-n1523", {"kind": "arrivals", "nodes": nodes, "pods": pods})


def from_files(nodes_path: Path, pods_path: Path, kind: str) -> Instance:
    """One instance of a user's node and pod lists in the trace's format; every pod must fit on some node."""
    nodes, pods = trace.load_nodes(nodes_path), trace.load_pods(pods_path)
    if not nodes:
        raise ProblemError(f"{nodes_path}: no nodes")
    error = trace.impossible_error(nodes, pods, str(pods_path))
    if error:
        raise ProblemError(error)
    if kind == "snapshot":
        pods = sorted(pods, key=lambda pod: -pod[5])
    return Instance(f"{pods_path.stem}", f"{kind}-n{len(nodes)}", {"kind": kind, "nodes": nodes, "pods": pods})


def _arrivals(nodes: list[list], draw: Any, load: float, where: str) -> list[list]:
    capacity = FULL * sum(n[2] for n in nodes)
    if not capacity:
        raise ProblemError(f"podpack: {where}: the cluster has no GPU")
    batch, demand, limit = [], 0, 100 * len(nodes) + 1000
    while demand < load * capacity:
        pod = draw()
        if any(trace.fits_empty(node, pod) for node in nodes):
            batch.append(pod)
            demand += pod[2] * pod[3]
        if len(batch) > limit:  # a safety stop: the distributions cannot fill this cluster
            raise ProblemError(f"podpack: {where}: {limit} pods do not reach load {load}")
    return batch


def _typed(draw: Any, models: list[str], share: float, rng: random.Random) -> Any:
    """``draw`` with a share of its GPU pods limited to one or two of ``models``."""

    def typed_draw() -> list:
        pod = draw()
        if pod[2] and models and rng.random() < share:
            pod[4] = sorted(rng.sample(models, min(len(models), rng.choice((1, 2)))))
        return pod

    return typed_draw


def _trace() -> tuple[list[list], list[list]]:
    return _read(*trace.trace_files())


@functools.cache
def _read(nodes_path: Path, pods_path: Path) -> tuple[list[list], list[list]]:
    return trace.load_nodes(nodes_path), trace.load_pods(pods_path)


def _warn_missing() -> None:
    folder = str(data_dir() / trace.SUBFOLDER)
    if folder not in _WARNED:
        _WARNED.add(folder)
        print(
            f"podpack: the trace is not in {folder} (set ADRS_DATA_DIR to the folder holding {trace.SUBFOLDER}/); "
            "its instances are generated from the trace's distributions instead, in groups ending in -syn. The "
            "trace is on GitHub: alibaba/clusterdata, cluster-trace-gpu-v2023.",
            file=sys.stderr,
        )
