"""The problem contract: what every problem package offers the engine.

A problem is split across the trust boundary. ``instances``, ``verify``, ``aggregate`` and ``bound`` run in
the trusted framework process; only the problem's *runner module* (named in ``problem.toml``) is imported
inside the sandbox, where its ``run(candidate_module, instance_data)`` calls the candidate and returns plain
JSON data, or, for a policy inside a simulation, its ``drive(instance_data)`` simulates in the sandbox server
and its ``play(candidate_module)`` answers, in the candidate's process, what a real scheduler would observe
(``evaluators/lockstep.py``). A candidate never reports its own score: ``verify`` recomputes everything from
that output.
"""

from __future__ import annotations

import math
import os
import types
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from typing import Any, Literal

SPLITS = ("smoke", "train", "test")
STRESS = "stress"  # edge cases and out-of-distribution instances: checked for valid outputs, never scored


class ProblemError(ValueError):
    """A user-facing error about a problem: unknown name, bad instance file, broken problem.toml."""


class PolicyError(Exception):
    """Raised by a simulation runner's ``drive``: the policy's answer ended the instance; the message is the
    candidate's error (``evaluators/lockstep.py`` runs the drivers)."""


def data_dir() -> Path:
    """Where the public data sets are looked for: ``$ADRS_DATA_DIR``, else ``../shared/data`` beside the
    repository (read on every call, so tests can point elsewhere)."""
    configured = os.environ.get("ADRS_DATA_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass(frozen=True)
class Objective:
    """One named objective.

    Attributes:
        name: key in the metrics dictionary (e.g. ``gap``).
        direction: ``min`` or ``max``.
        unit: unit shown in tables (e.g. ``%`` or ``ms``).
        description: one line for prompts and reports.
        on_request: measured only when a run selects it (``Problem.select_objectives``), being costly; it is
            absent from the metrics of other evaluations.
        measured: a measurement of the machine (a wall time), not a function of the outputs: two runs of the
            same code differ by noise, so a search never credits a program that only differs from its parent
            in such a value unless a paired re-measurement confirms it (``evolve/search/behaviour.py``).
    """

    name: str
    direction: Literal["min", "max"]
    unit: str = ""
    description: str = ""
    on_request: bool = False
    measured: bool = False

    def oriented(self, value: float) -> float:
        """The value turned into a quantity to minimise (max objectives are negated)."""
        return value if self.direction == "min" else -value


@dataclass(frozen=True)
class Instance:
    """One instance of a problem.

    Attributes:
        id: unique within its split (e.g. ``train-007``).
        group: class label for per-class breakdowns (e.g. ``n20-TF0.6-RDD0.4``).
        data: plain JSON-able data handed to the runner inside the sandbox (to the candidate's process for a
            ``run`` runner, to the sandbox server only for a simulation's ``drive``). Nothing secret goes here.
        reference: a supplied best-known or optimal value, when the source provides one.
        reference_kind: ``optimum`` or ``best-known`` for a supplied reference.
    """

    id: str
    group: str
    data: dict[str, Any]
    reference: float | None = None
    reference_kind: str | None = None


@dataclass(frozen=True)
class Reference:
    """A value to measure gaps against.

    Attributes:
        value: the objective value of the reference.
        kind: ``optimum`` (proven), ``best-known`` (supplied by a published source), ``computed`` (our best
            heuristic effort; an upper bound for minimisation, not an optimum) or ``bound`` (a proven limit that
            no program passes, though none may reach it).
        source: how it was obtained (e.g. ``subset-dp``, ``file``, ``local-search``).
    """

    value: float
    kind: Literal["optimum", "best-known", "computed", "bound"]
    source: str


@dataclass(frozen=True)
class Verdict:
    """The trusted verifier's judgement of one instance's output.

    Attributes:
        feasible: whether the output is a valid answer.
        values: problem-specific numbers computed by the verifier (e.g. objective value and reference).
        reason: why it is infeasible; empty when feasible.
    """

    feasible: bool
    values: dict[str, float] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class InstanceRun:
    """One instance's verdict together with the candidate's time on it, measured outside the candidate."""

    instance: Instance
    verdict: Verdict
    seconds: float


@dataclass(frozen=True)
class ProblemSpec:
    """The declarative half of a problem, read from ``problem.toml``.

    Attributes:
        name: the problem's name on the command line.
        description: one paragraph for prompts and ``adrs problems``.
        objectives: named objectives with directions; the first is the primary one (used for tuning).
        entry_point: the function a candidate must define.
        runner: dotted module imported inside the sandbox; defines ``run(candidate_module, data)``, or ``drive``
            and ``play`` (``evaluators/lockstep.py``).
        seed: path of the initial program, relative to the ``seeds/`` folder.
        baselines: human baseline programs, relative to the ``seeds/`` folder.
        components: building blocks for the ``component`` mutator (programs whose EVOLVE-BLOCK defines a function
            a seed's block also defines, e.g. an improvement step), relative to the ``seeds/`` folder.
        seconds_per_instance: wall-clock limit for one call of the candidate on one instance.
        memory_mb: address-space limit of the candidate's process.
        cpu_seconds: CPU-time limit of the candidate's process in one evaluation, all instances together (a
            safety stop: CPU time barely moves with the machine's load, unlike the wall clock).
        options: problem-specific settings from the ``[options]`` table.
        reported: metrics shown beside the objectives in tables (e.g. ``attainment``), never selected on.
        bench_by_group: whether ``adrs bench`` also prints a table per instance group (e.g. per model preset).
        search_objectives: the objectives a run selects on when its configuration names none (empty: all).
        screen_instances: train instances a run's children are screened on before their full train evaluation,
            unless the run's configuration says otherwise (``evolve/search/screen.py``); 0: no screen. For a
            problem whose train evaluation is costly.
        seeds_root: the folder ``seed`` and ``baselines`` are relative to: the problem's own folder for a problem
            outside adrs, else (None) the repository's ``seeds/``. Set by the registry, not by problem.toml.
    """

    name: str
    description: str
    objectives: tuple[Objective, ...]
    entry_point: str
    runner: str
    seed: str
    baselines: tuple[str, ...]
    components: tuple[str, ...] = ()
    seconds_per_instance: float = 2.0
    memory_mb: int = 1024
    cpu_seconds: int = 120
    options: dict[str, Any] = field(default_factory=dict)
    reported: tuple[str, ...] = ()
    bench_by_group: bool = False
    search_objectives: tuple[str, ...] = ()
    screen_instances: int = 0
    seeds_root: Path | None = None

    @classmethod
    def from_toml(cls, path: Path) -> ProblemSpec:
        try:
            raw = tomllib.loads(path.read_text())
            limits = raw.get("limits", {})
            return cls(
                name=raw["name"],
                description=raw["description"].strip(),
                objectives=tuple(Objective(**o) for o in raw["objectives"]),
                entry_point=raw["entry_point"],
                runner=raw["runner"],
                seed=raw["seed"],
                baselines=tuple(raw.get("baselines", ())),
                components=tuple(raw.get("components", ())),
                seconds_per_instance=float(limits.get("seconds_per_instance", 2.0)),
                memory_mb=int(limits.get("memory_mb", 1024)),
                cpu_seconds=int(limits.get("cpu_seconds", 120)),
                options=dict(raw.get("options", {})),
                reported=tuple(raw.get("reported", ())),
                bench_by_group=bool(raw.get("bench_by_group", False)),
                search_objectives=tuple(raw.get("search_objectives", ())),
                screen_instances=int(raw.get("screen_instances", 0)),
            )
        except KeyError as exc:
            raise ProblemError(f"{path}: problem.toml lacks the key {exc.args[0]!r} (docs/problems.md)") from exc
        except (TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
            raise ProblemError(f"{path}: invalid problem.toml ({exc})") from exc

    def __post_init__(self) -> None:
        if self.screen_instances < 0:
            raise ProblemError(f"{self.name}: screen_instances must not be negative, got {self.screen_instances}")
        names = [o.name for o in self.objectives]
        unknown = [name for name in self.search_objectives if name not in names]
        if unknown:
            raise ProblemError(f"search_objectives names {unknown}, which are not objectives of {self.name}")

    def located(self, folder: Path) -> ProblemSpec:
        """The same spec with its seed and baselines looked up in ``folder``."""
        return replace(self, seeds_root=folder)

    def objective(self, name: str) -> Objective:
        for objective in self.objectives:
            if objective.name == name:
                return objective
        raise KeyError(name)


def seeds_dir() -> Path:
    """The ``seeds/`` folder beside the installed packages (the repository root in a checkout)."""
    return Path(__file__).resolve().parent.parent / "seeds"


class Problem(ABC):
    """Base class of a problem package. Subclasses live in ``problems/<name>/problem.py``."""

    BOUND_STATUS: dict[str, str] = {}  # ``bound_status`` of each fixed ``bench_bounds`` row name

    def __init__(self, spec: ProblemSpec):
        self.spec = spec
        self.source: Any = None  # where the registry found it (``problems.registry.Source``); None when built by hand

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self.spec.objectives

    @abstractmethod
    def instances(self, split: str) -> list[Instance]:
        """The instances of ``smoke``, ``train`` or ``test``; deterministic across calls and machines."""

    def stress_instances(self) -> list[Instance]:
        """Edge cases and instances outside the train distribution (larger, more skewed, tiny or empty inputs):
        a program must give a valid output on each before it may join a run's frontier. Their values are never
        selected on, so references may be trivial. Empty (the default): no robustness stage."""
        return []

    def select_objectives(self, names: Sequence[str]) -> None:
        """Told which objectives a run selects on (or ``adrs eval/bench --objectives`` asks for), before any
        instance is loaded: a problem may measure a costly objective only when it is named (serving's
        ``capacity`` simulates every instance at several rates). Unnamed ones may then be absent."""
        return None

    def extra_splits(self) -> tuple[str, ...]:
        """Named instance sets beside ``smoke``, ``train`` and ``test`` (a paper's setting, say), for ``adrs eval``
        and ``adrs bench --split NAME``; runs never select on them."""
        return ()

    @abstractmethod
    def verify(self, instance: Instance, output: Any) -> Verdict:
        """Validate an untrusted output and compute its values. Never raises on bad output."""

    @abstractmethod
    def aggregate(self, runs: Sequence[InstanceRun]) -> dict[str, float]:
        """Metrics of a set of feasible instance runs: one value per objective name, plus extras."""

    def bound(self, instance: Instance) -> Reference | None:
        """Optimum or a proven/best-known reference for the instance, when one can be had."""
        return None

    def load_instances(self, path: Path) -> list[Instance]:
        """Instances from a user's file in one of the problem's public formats."""
        raise ProblemError(f"problem {self.name!r} cannot load instance files")

    def bench_bounds(self, instances: Sequence[Instance]) -> dict[str, dict[str, float]]:
        """Rows shown beside the baselines by ``adrs bench``: bounds (an oracle, a capacity limit) as metrics
        aggregated over ``instances``, by name. Computed in the trusted process from the problem's own code."""
        return {}

    def bound_status(self, name: str) -> str:
        """What the ``bench_bounds`` row ``name`` is, in the words tables print beside it: ``optimal``,
        ``best known``, ``upper bound``, ``lower bound`` or ``oracle`` (several joined by " / " for a mean over
        instances of mixed kinds); ``bound`` for a row the problem does not qualify."""
        return self.BOUND_STATUS.get(name, "bound")

    def instances_at_rate(self, instances: Sequence[Instance], rate: float) -> list[Instance]:
        """``instances`` with their arrivals redrawn at ``rate`` per second, for ``adrs eval --sweep-rate``;
        only problems whose instances have an arrival rate offer it."""
        raise ProblemError(f"problem {self.name!r} has no arrival rate to sweep")

    def use_gpu(self, config: Any) -> None:
        """Time outputs on a GPU too (``adrs eval --gpu``); ``config`` is an ``problems.moe.gpu.GpuBenchConfig``.
        Only problems with a GPU verifier offer it."""
        raise ProblemError(f"{self.name} has no GPU verifier")

    def seed_program(self) -> Path:
        return (self.spec.seeds_root or seeds_dir()) / self.spec.seed

    def baselines(self) -> list[Path]:
        return [(self.spec.seeds_root or seeds_dir()) / b for b in self.spec.baselines]

    def components(self) -> list[Path]:
        return [(self.spec.seeds_root or seeds_dir()) / c for c in self.spec.components]


def check_unique_seeds(problem: str, seeds: Sequence[tuple[str, int]]) -> None:
    """ProblemError when two generated instances of a problem's splits, given as (split, seed), share a seed:
    then test would repeat what train saw."""
    first: dict[int, str] = {}
    for split, seed in seeds:
        if seed in first:
            raise ProblemError(
                f"{problem}: splits {first[seed]} and {split} share seed {seed}; every instance needs its own seed"
            )
        first[seed] = split


def seed_module(relative: str, name: str) -> types.ModuleType:
    """A fresh module of the seed file ``seeds/<relative>``: trusted code of the repository (a baseline that a
    problem's oracle or reference reuses), executed in the framework's process."""
    path = seeds_dir() / relative
    module = types.ModuleType(name)
    module.__file__ = str(path)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


def is_finite_number(value: Any) -> bool:
    """True for real ints and floats that are neither NaN nor infinite (bools excluded)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
