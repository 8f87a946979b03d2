"""Alibaba's cluster-trace-gpu-v2023 ("openb") node and pod lists, read into instance rows. Trusted side.

Node rows become ``[cpu_milli, memory_mib, gpus, model]`` and pod rows ``[cpu_milli, memory_mib, num_gpu,
milli_per_gpu, [models], priority]`` (``cluster.py``). Every malformed row is a ``ProblemError`` naming the file,
the line and what is wrong, and nothing is half-read.

Priorities come from the QoS class, highest first: LS (latency-sensitive, Alibaba's online services) and
Guaranteed are 2, Burstable 1, BE (best effort) 0 (docs/podpack.md).
"""

from __future__ import annotations

import csv
from pathlib import Path

from problems.base import ProblemError, data_dir
from problems.podpack.cluster import FULL

PRIORITY = {"LS": 2, "Guaranteed": 2, "Burstable": 1, "BE": 0}
SUBFOLDER = "alibaba-gpu-2023"
NODE_FILE = "openb_node_list_all_node.csv"
POD_FILE = "openb_pod_list_default.csv"
_NODE_COLUMNS = ("cpu_milli", "memory_mib", "gpu", "model")
_POD_COLUMNS = ("cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos")


def trace_files() -> tuple[Path, Path] | None:
    """The trace's node and pod lists, when both are in the data folder."""
    folder = data_dir() / SUBFOLDER
    nodes, pods = folder / NODE_FILE, folder / POD_FILE
    return (nodes, pods) if nodes.is_file() and pods.is_file() else None


def load_nodes(path: Path) -> list[list]:
    """The node rows of a node list (``sn,cpu_milli,memory_mib,gpu,model``)."""
    nodes = []
    for line, row in _rows(path, _NODE_COLUMNS):
        cpu, mem, gpus = (_count(path, line, row, name) for name in _NODE_COLUMNS[:3])
        model = row["model"].strip()
        if cpu == 0 or mem == 0:
            raise ProblemError(
                f"{path}:{line}: a node needs CPU and memory, this one has cpu_milli {cpu}, memory_mib {mem}"
            )
        if bool(gpus) != bool(model):
            raise ProblemError(
                f"{path}:{line}: a node has a GPU model exactly when it has GPUs (gpu {gpus}, model {model!r})"
            )
        nodes.append([cpu, mem, gpus, model])
    return nodes


def load_pods(path: Path) -> list[list]:
    """The pod rows of a pod list (``name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,...``), in the
    order of the file (the trace's is creation order)."""
    pods = []
    for line, row in _rows(path, _POD_COLUMNS):
        cpu, mem, count, milli = (_count(path, line, row, name) for name in _POD_COLUMNS[:4])
        where = f"{path}:{line}: pod {row.get('name') or '?'}"
        if count == 0 and milli != 0:
            raise ProblemError(f"{where} asks for no GPU but gpu_milli {milli}")
        if count == 1 and not 0 < milli <= FULL:
            raise ProblemError(f"{where}: a one-GPU pod's gpu_milli is 1-{FULL}, not {milli}")
        if count > 1 and milli != FULL:
            raise ProblemError(f"{where}: a pod of {count} GPUs takes whole GPUs (gpu_milli {FULL}), not {milli}")
        qos = row["qos"].strip()
        if qos not in PRIORITY:
            raise ProblemError(f"{where}: unknown qos {qos!r} (known: {', '.join(PRIORITY)})")
        models = sorted({m.strip() for m in row["gpu_spec"].split("|") if m.strip()}) if count else []
        pods.append([cpu, mem, count, milli, models, PRIORITY[qos]])
    return pods


def impossible_error(nodes: list[list], pods: list[list], source: str) -> str:
    """A line naming the first pod no node of ``nodes`` could hold even when empty; empty when all could."""
    for index, pod in enumerate(pods):
        if not any(fits_empty(node, pod) for node in nodes):
            return (
                f"{source}: pod {index} (cpu {pod[0]}, memory {pod[1]} MiB, {pod[2]} GPU x {pod[3]} milli"
                f"{', models ' + '/'.join(pod[4]) if pod[4] else ''}) fits on no node of the cluster, even empty"
            )
    return ""


def fits_empty(node: list, pod: list) -> bool:
    """Whether ``pod`` fits on ``node`` when nothing else runs there."""
    if pod[0] > node[0] or pod[1] > node[1] or pod[2] > node[2]:
        return False
    return not pod[2] or not pod[4] or node[3] in pod[4]


def _rows(path: Path, columns: tuple[str, ...]):
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise ProblemError(f"{path}: the header lacks the column(s) {', '.join(missing)}")
            for row in reader:
                if None in row or any(row[c] is None for c in columns):
                    raise ProblemError(f"{path}:{reader.line_num}: expected {len(reader.fieldnames)} fields")
                yield reader.line_num, row
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ProblemError(f"{path}: cannot read the file ({exc})") from None


def _count(path: Path, line: int, row: dict, name: str) -> int:
    text = row[name].strip()
    if not text.isdigit():
        raise ProblemError(f"{path}:{line}: {name} must be a whole number >= 0, not {text!r}")
    return int(text)
