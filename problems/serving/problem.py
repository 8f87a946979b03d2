"""The trusted half of ``serving``: splits, the verifier of decision logs, aggregation and references.

A candidate's output is the log of its scheduler's decisions; ``verify`` replays it with the same engine on
the instance's own data (``problems/serving/sim.py``) and computes every metric itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

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
from problems.serving import azure, capacity, references, synthetic
from problems.serving import traces as wl
from problems.serving.sim import Infeasible, Workload, metrics, replay, simulate

# Metrics averaged over instances in `aggregate`; the others are totals.
_MEANS = (
    "goodput", "p99_ttft", "goodput_max_gap", "p99_tpot", "attainment", "throughput", "tokens_per_s", "mean_batch",
    "arrival_rate",
)  # fmt: skip
_SUMS = ("preemptions", "unfinished", "requests", "unservable")


@dataclass(frozen=True)
class ServingInstance(Instance):
    """An instance with the count of requests left out because no scheduler could serve them.

    The count lives beside ``data``, not in it: ``data`` is exactly what ``Workload.from_data`` reads.
    """

    unservable: int = 0
    rung: float = 0.0  # for ``capacity``: the rate multiplier of this copy of instance ``base`` (0: not a copy)
    base: str = ""


@dataclass(frozen=True)
class InstancePlan:
    """One generated instance of a split.

    Attributes:
        preset: length preset of ``synthetic.PRESETS`` (``conv``, ``code``, ``longout``, ``longprompt``,
            ``multiturn``, ``decode-heavy``).
        load: label of the load level or replica; the group is ``<preset>-<load>``.
        rate: mean arrivals per second.
        seconds: length of the arrival window.
        seed: seed of the generator; unique across all splits.
        cv: coefficient of variation of the gaps between arrivals (1 = Poisson).
        replica: fields of ``traces.Replica`` that differ from ``[options]`` for this instance (a cost model, a
            cache size, SLOs, ``max_new_tokens``).
        azure_window: ``[start, seconds]`` of the Azure 2023 trace of the preset (``conv`` or ``code``) that
            replaces the generated requests when the trace is at hand (``azure.py``), its time compressed to
            ``rate``; empty for an instance that is always generated.
    """

    preset: str
    load: str
    rate: float
    seconds: float
    seed: int
    cv: float = 1.0
    replica: dict[str, Any] = field(default_factory=dict)
    azure_window: tuple[float, ...] = ()

    @property
    def group(self) -> str:
        return f"{self.preset}-{self.load}"


@dataclass(frozen=True)
class FilePlan:
    """How ``load_instances`` turns a trace file into instances (see ``[options.files]`` in problem.toml)."""

    window_seconds: float = 600.0
    rate_scale: float = 1.0
    rate: float = 2.0
    cv: float = 1.0
    max_windows: int = 3
    seed: int = 0


def _split_plans(options: dict[str, Any]) -> dict[str, list[InstancePlan]]:
    """Split plans from ``[options.splits]`` (smoke, train and test, and any named setting); ProblemError when
    one is missing, malformed or shares a seed."""
    try:
        missing = [name for name in SPLITS if name not in options["splits"]]
        if missing:
            raise KeyError(", ".join(missing))
        plans = {name: [InstancePlan(**raw) for raw in split["instances"]] for name, split in options["splits"].items()}
    except (KeyError, TypeError) as exc:
        raise ProblemError(f"serving: invalid [options.splits] in problem.toml ({exc!r})") from exc
    for name, plan in plans.items():
        for item in plan:
            if item.preset not in synthetic.PRESETS:
                raise ProblemError(f"serving: split {name} names unknown preset {item.preset!r}")
            unknown = sorted(set(item.replica) - set(wl.Replica.__dataclass_fields__))
            if unknown:
                raise ProblemError(f"serving: split {name} sets unknown replica field(s) {', '.join(unknown)}")
    check_unique_seeds("serving", [(name, item.seed) for name, plan in plans.items() for item in plan])
    return plans


def _replica(options: dict[str, Any]) -> wl.Replica:
    keys = ("cost_model", "slo_ttft", "slo_tpot", "slo_max_gap", "kv_capacity_tokens", "max_new_tokens")
    keys += ("drain_seconds",)
    return wl.Replica(**{k: options[k] for k in keys if k in options})


def _verdict_values(workload: Workload, log: Any, unservable: int) -> dict[str, float]:
    """Metrics of a replayed log plus the load it faced; raises Infeasible (or ValueError) on a bad log."""
    values = metrics(workload, replay(workload, log))
    values["arrival_rate"] = references.arrival_rate(workload)
    values["unservable"] = float(unservable)
    return values


class ServingProblem(Problem):
    """Scheduling of a continuous-batching LLM server; a candidate decides admissions, chunks and preemptions."""

    # Goodput cannot pass the arrival rate; the oracle knows every answer's length in advance.
    BOUND_STATUS = {"oracle (true lengths)": "oracle", "arrival rate": "upper bound"}

    def __init__(self, spec: ProblemSpec):
        super().__init__(spec)
        self._plans = _split_plans(spec.options)
        self._replica = _replica(spec.options)
        self._ladder_option = capacity.check_ladder(spec.options.get("capacity_ladder", capacity.LADDER))
        self._ladder: tuple[float, ...] = ()
        try:
            self._files = FilePlan(**spec.options.get("files", {}))
        except TypeError as exc:
            raise ProblemError(f"serving: invalid [options.files] in problem.toml ({exc})") from exc

    def select_objectives(self, names: Sequence[str]) -> None:
        """``capacity`` named: every instance is evaluated at each rate of ``[options] capacity_ladder``."""
        self._ladder = self._ladder_option if "capacity" in names else ()

    def extra_splits(self) -> tuple[str, ...]:
        """The named settings of docs/serving.md (``lit-*``: the literature's orderings) beside smoke/train/test."""
        return tuple(name for name in self._plans if name not in SPLITS)

    def stress_instances(self) -> list[Instance]:
        """Workloads unlike train's, on the default replica: a single request, 300 arriving at once, prompts
        of 32k tokens, answers of one token, and a quiet minute with five requests."""
        rng = np.random.default_rng(990)
        cases = {
            "one-request": (wl.make_trace([0.0], [500], [50]), 10.0),
            "burst-of-300": (wl.make_trace(np.sort(rng.uniform(0, 0.1, 300)), [1000] * 300, [200] * 300), 10.0),
            "32k-prompts": (wl.make_trace(np.arange(20) * 0.5, [32_000] * 20, [16] * 20), 10.0),
            "one-token-answers": (wl.make_trace(np.arange(200) * 0.05, rng.integers(10, 2000, 200), [1] * 200), 10.0),
            "quiet-minute": (wl.make_trace([0.0, 12.0, 24.0, 36.0, 48.0], [300] * 5, [100] * 5), 60.0),
        }
        instances: list[Instance] = []
        for k, (name, (trace, seconds)) in enumerate(cases.items()):
            data, unservable = wl.instance_data(trace, seconds, self._replica)
            instances.append(ServingInstance(f"stress-{k:03d}", name, data, unservable=unservable))
        return instances

    def instances(self, split: str) -> list[Instance]:
        plans = self._plans.get(split)
        if plans is None:
            raise ProblemError(f"unknown split {split!r}; choose one of {', '.join(self._plans)}")
        instances: list[Instance] = []
        for k, plan in enumerate(plans):
            trace, seconds = azure.window(plan.preset, plan.azure_window, plan.rate)
            if trace is None:
                trace = synthetic.synthetic_trace(plan.preset, plan.rate, plan.seconds, plan.seed, plan.cv)
                seconds = plan.seconds
            replica = replace(self._replica, **plan.replica)
            data, unservable = wl.instance_data(trace, seconds, replica)
            instances.append(ServingInstance(f"{split}-{k:03d}", plan.group, data, unservable=unservable))
        return capacity.ladder(instances, self._ladder) if self._ladder else instances

    def verify(self, instance: Instance, output: Any) -> Verdict:
        workload = Workload.from_data(instance.data)  # trusted data: a failure here is our bug, not the candidate's
        try:
            values = _verdict_values(workload, output, getattr(instance, "unservable", 0))
        except Infeasible as exc:
            return Verdict(False, reason=f"infeasible decision log: {exc}")
        except (ValueError, TypeError, RecursionError) as exc:
            return Verdict(False, reason=f"malformed decision log ({type(exc).__name__}: {str(exc)[:200]})")
        return Verdict(True, values)

    def aggregate(self, runs: Sequence[InstanceRun]) -> dict[str, float]:
        """Means over instances of the per-instance goodput and P99 TTFT (each instance weighs the same,
        whatever its length or load), and of the other rates; totals of counts."""
        if not runs:
            raise ProblemError("serving: nothing to aggregate (no instance runs)")
        if not all(r.verdict.feasible for r in runs):
            raise ProblemError("serving: aggregate takes feasible runs only")
        copies = [r for r in runs if getattr(r.instance, "rung", 0.0)]
        if copies:  # ``capacity`` selected: the other metrics are the instances' own, at their own rate
            runs = [r for r in copies if r.instance.rung == 1.0]
        values = [r.verdict.values for r in runs]
        result = {name: sum(v.get(name, 0.0) for v in values) / len(values) for name in _MEANS}
        result.update({name: float(sum(v.get(name, 0.0) for v in values)) for name in _SUMS})
        if copies:
            result["capacity"] = capacity.mean_capacity(copies)
        return result

    def bound(self, instance: Instance) -> Reference:
        """The oracle's goodput (a scheduler knowing true output lengths), or the arrival rate without one."""
        return references.reference_for(instance)

    def bench_bounds(self, instances: Sequence[Instance]) -> dict[str, dict[str, float]]:
        """Rows beside the baselines: the oracle's full metrics, and the arrival rate (every request on time)."""
        rows: dict[str, dict[str, float]] = {}
        oracle = references.oracle_module()
        workloads = [Workload.from_data(i.data) for i in instances]
        if oracle is not None and instances:
            runs = []
            for instance, workload in zip(instances, workloads):
                outcome = simulate(workload, oracle.oracle_policy(workload))
                values = _verdict_values(workload, outcome.log, getattr(instance, "unservable", 0))
                runs.append(InstanceRun(instance, Verdict(True, values), 0.0))
            rows["oracle (true lengths)"] = self.aggregate(runs)
        own = [w for i, w in zip(instances, workloads) if getattr(i, "rung", 0.0) in (0.0, 1.0)]  # not the copies
        if own:
            rate = sum(references.arrival_rate(w) for w in own) / len(own)
            rows["arrival rate"] = {"goodput": rate, "attainment": 1.0, "throughput": rate}
        return rows

    def instances_at_rate(self, instances: Sequence[Instance], rate: float) -> list[Instance]:
        """``instances`` with time compressed (or stretched) so that each has ``rate`` requests per second.

        The same requests in the same bursts arrive faster: the load changes and nothing else, and the run's
        drain time after the window is kept.
        """
        if not rate > 0:
            raise ProblemError(f"serving: an arrival rate must be positive, got {rate}")
        scaled: list[Instance] = []
        for instance in instances:
            count = len(instance.data["arrivals"])
            if not count:
                raise ProblemError(f"serving: instance {instance.id} has no requests to rescale")
            factor = rate / (count / instance.data["duration"])
            scaled.append(replace(instance, data=capacity.compressed(instance.data, factor)))
        return scaled

    def load_instances(self, path: Path) -> list[Instance]:
        """Instances of an Azure LLM inference trace CSV or of a length-trace CSV (docs/serving.md)."""
        path = Path(path)
        if not path.is_file():
            raise ProblemError(f"{path}: no such instance file")
        files, stem = self._files, path.stem
        if wl.is_azure_trace(path):
            trace = wl.load_azure_trace(path).compressed(files.rate_scale)
            windows = _window_starts(trace.span(), files.window_seconds)
            pieces = [(trace.window(start, length), length) for start, length in windows]
        elif wl.is_length_trace(path):
            prompt, output = wl.load_length_trace(path)
            traces = synthetic.length_trace_windows(
                prompt, output, files.rate, files.window_seconds, files.max_windows, files.seed, files.cv
            )
            pieces = [(trace, files.window_seconds) for trace in traces]
        else:
            raise ProblemError(
                f"{path}: not a known trace format; expected an Azure LLM inference trace CSV "
                f"({','.join(wl.AZURE_COLUMNS)}) or a length-trace CSV ({','.join(wl.LENGTH_COLUMNS)},...)"
            )
        instances: list[Instance] = []
        for k, (trace, length) in enumerate(pieces):
            data, unservable = wl.instance_data(trace, length, self._replica)
            instances.append(ServingInstance(f"{stem}-{k:03d}", stem, data, unservable=unservable))
        return instances


def _window_starts(span: float, length: float) -> list[tuple[float, float]]:
    """(start, length) of consecutive windows covering ``[0, span]``; a last partial window is kept when it is
    at least half as long as the others (its own length is its duration), and a trace shorter than one window
    is one window of its span (at least a second)."""
    if not length > 0:
        raise ProblemError(f"serving: window_seconds must be positive, got {length}")
    full = int(span // length)
    windows = [(k * length, length) for k in range(full)]
    rest = span - full * length
    if rest >= length / 2 or not windows:
        # A microsecond more, so that the last arrival falls inside the half-open window.
        windows.append((full * length, max(rest, 1.0) + 1e-6))
    return windows


def make(spec: ProblemSpec) -> ServingProblem:
    """The problem object the registry asks for."""
    return ServingProblem(spec)
