"""Run configuration: one frozen dataclass, loadable from TOML, overridable from the command line."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from typing import Any

from problems.base import Objective, ProblemSpec


class ConfigError(ValueError):
    """A configuration a user wrote is invalid; the message names the field."""


# What a TOML file or the command line may give for a field of each annotated type (ints pass as floats).
_ACCEPTED: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "tuple[str, ...]": (list, tuple),
    "dict[str, float]": (dict,),
    "dict[str, list[float]]": (dict,),
}


def _check_types(config: object) -> None:
    """ConfigError naming the first field whose value has the wrong type (``iterations = "10"``), before any
    check compares it with a number."""
    for f in dataclasses.fields(config):  # type: ignore[arg-type]
        accepted, value = _ACCEPTED.get(str(f.type), (object,)), getattr(config, f.name)
        # bool is an int to Python, not to a user: `seed = true` is a mistake.
        if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
            raise ConfigError(f"{f.name} must be {f.type}, got {value!r} ({type(value).__name__})")


@dataclass(frozen=True)
class RunConfig:
    """How a run searches, and when it stops.

    Attributes:
        problem: name of the problem (``adrs problems`` lists them).
        problems_dir: a folder of problems outside adrs (each subfolder with a ``problem.toml`` is one) where
            ``problem`` is looked for; empty: the problems shipped with adrs and installed problem packages.
            A run stores it as an absolute path, so that ``adrs resume`` finds the problem from anywhere.
        seed: seeds every random choice of the run (parents, mutators, tuning).
        iterations: the run stops after this many iterations; each proposes ``batch_size`` children.
        batch_size: children proposed and evaluated in parallel per iteration (0: twice the workers).
        max_evaluations: stop once this many sandbox evaluations were spent (tuning included); 0 = no limit.
        max_wall_seconds: stop once the run has used this much wall time; 0 = no limit.
        islands: number of islands, each with its own population.
        population_size: survivors per island kept for parent selection (NSGA-II survival).
        migration_interval: every this many iterations each island sends its elites to the next one.
        migration_size: elites sent per migration.
        inspirations: programs from the global frontier shown to a mutator beside its parent.
        workers: parallel sandboxes (0: the number of cores, or of the Ray cluster's CPUs).
        executor: where sandboxes run: ``local`` (this machine) or ``ray`` (Ray actors; ``pip install 'adrs[ray]'``).
        ray_address: the Ray cluster to use (``HOST:PORT``, ``auto``, ``ray://HOST:PORT``); empty starts a local one.
        objectives: names of the problem's objectives that selection uses, the first being the primary one (empty:
            the problem's ``search_objectives``, else all of them, in the problem's order). E.g. ``["gap"]``
            ignores measured time, which makes a seeded run's archive the same on any machine and executor.
        baselines_in_population: start the population with the problem's shipped baselines beside its seed, so
            that the frontier starts at the best human heuristic and every discovery is measured against it.
        screen_instances: before its full train evaluation, a child runs on this many train instances (a subset
            drawn anew each iteration) and goes on only if it beats its parent there in some objective; tuning
            scores its trials on the subset (``evolve/search/screen.py``). -1: the problem's own
            ``screen_instances`` (problem.toml; serving screens on 2); 0: no screen.
        timing_tolerance: relative margin by which a child with its parent's outputs must beat the parent's
            measured objective (a wall time), in paired re-measurements, to be kept (``evolve/search/behaviour.py``).
        mutators: mutator name (``genetic``, ``tune``, ``blend``, ``component``, ``llm``; docs/search.md) -> weight
            of being chosen for a proposal.
        tune_trials: Optuna trials per ``tune`` proposal.
        unsafe_no_sandbox: run candidates without namespaces; only where bubblewrap cannot work.
        models: litellm model strings for the ``llm`` mutator, each optionally ``@WEIGHT``.
        api_base: URL of an OpenAI-compatible or other server litellm should talk to (local models).
        llm_transport: ``auto`` (an ``openai/`` model at an ``api_base`` through the openai SDK alone, about 6 ms
            less per call; any other model through litellm), or ``litellm`` (every model through litellm).
        max_usd: stop once model calls cost this many dollars (overshoot: one call at most); 0 = no limit.
        max_tokens: the same for prompt plus completion tokens; 0 = no limit.
        prices: model -> [dollars per input token, dollars per output token], for models litellm cannot price.
        prompts_dir: a folder of prompt templates overriding the defaults of ``evolve/llm/prompts``.
        llm_timeout_seconds: time limit of one model call.
        rewrite_share: share of ``llm`` proposals asking for whole EVOLVE-BLOCKs instead of edits.
        replay: run directory whose stored replies answer every model call, with no network.
        llm_failures_to_drop: failed model calls in a row after which a model is no longer asked (a refused key:
            at once); with no model left the run stops (docs/llm.md).
        llm_concurrency: model calls in flight at once; slots of an iteration propose and evaluate in parallel,
            so calls overlap evaluations.
        pipeline_depth: iterations in flight at once. Iteration k chooses its parents from the state the run had
            after iteration k - depth, so that model calls and evaluations of later iterations keep every
            worker busy while an earlier one finishes; results are still committed in iteration order, so a
            run is reproducible for a given depth. 1 = each iteration waits for the one before.
        model_selection: ``bandit`` (Thompson sampling on frontier improvement per dollar) or ``weights``
            (each model drawn by its ``@WEIGHT``).
        report_every: rewrite the HTML report ``report.html`` of the run directory every this many iterations
            and once more when the run ends, for a live view (``adrs report`` writes it on demand); 0 = never.
    """

    problem: str = "tardiness"
    problems_dir: str = ""
    seed: int = 0
    iterations: int = 150
    batch_size: int = 0
    max_evaluations: int = 0
    max_wall_seconds: float = 0.0
    islands: int = 2
    population_size: int = 16
    migration_interval: int = 5
    migration_size: int = 1
    inspirations: int = 2
    workers: int = 0
    executor: str = "local"
    ray_address: str = ""
    objectives: tuple[str, ...] = ()
    baselines_in_population: bool = True
    screen_instances: int = -1
    timing_tolerance: float = 0.1
    mutators: dict[str, float] = field(
        default_factory=lambda: {"genetic": 0.55, "tune": 0.25, "blend": 0.1, "component": 0.1}
    )
    tune_trials: int = 12
    unsafe_no_sandbox: bool = False
    models: tuple[str, ...] = ()
    api_base: str = ""
    llm_transport: str = "auto"
    max_usd: float = 0.0
    max_tokens: int = 0
    prices: dict[str, list[float]] = field(default_factory=dict)
    prompts_dir: str = ""
    llm_timeout_seconds: float = 120.0
    rewrite_share: float = 0.2
    replay: str = ""
    model_selection: str = "bandit"
    llm_concurrency: int = 2
    llm_failures_to_drop: int = 3
    pipeline_depth: int = 2
    report_every: int = 0

    def __post_init__(self) -> None:
        _check_types(self)
        positive = (
            "iterations",
            "islands",
            "population_size",
            "migration_interval",
            "tune_trials",
            "llm_concurrency",
            "llm_failures_to_drop",
            "pipeline_depth",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        non_negative = ("batch_size", "max_evaluations", "max_wall_seconds", "workers", "migration_size")
        for name in (*non_negative, "inspirations", "report_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}")
        if not self.mutators or any(w < 0 for w in self.mutators.values()) or sum(self.mutators.values()) <= 0:
            raise ConfigError("mutators needs at least one positive weight, e.g. {genetic = 1.0}")
        object.__setattr__(self, "models", tuple(self.models))  # TOML and JSON give lists
        object.__setattr__(self, "objectives", tuple(self.objectives))
        if len(set(self.objectives)) != len(self.objectives):
            raise ConfigError(f"objectives must not repeat a name, got {list(self.objectives)}")
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"executor must be local or ray, got {self.executor!r}")
        for model, price in self.prices.items():
            if len(price) != 2 or any(not isinstance(p, (int, float)) or p < 0 for p in price):
                raise ConfigError(f"prices[{model!r}] must be [input, output] dollars per token, got {price!r}")
        if self.llm_transport not in ("auto", "litellm"):
            raise ConfigError(f"llm_transport must be auto or litellm, got {self.llm_transport!r}")
        if self.model_selection not in ("bandit", "weights"):
            raise ConfigError(f"model_selection must be bandit or weights, got {self.model_selection!r}")
        if self.screen_instances < -1:
            raise ConfigError(f"screen_instances must be -1 (the problem's), 0 or more, not {self.screen_instances}")
        if not 0 <= self.timing_tolerance < 1:
            raise ConfigError(f"timing_tolerance must lie in [0, 1), got {self.timing_tolerance}")
        if not 0 <= self.rewrite_share <= 1:
            raise ConfigError(f"rewrite_share must lie in [0, 1], got {self.rewrite_share}")

    def screen_size(self, spec: ProblemSpec) -> int:
        """Train instances a child is screened on first (0: no screen)."""
        return spec.screen_instances if self.screen_instances == -1 else self.screen_instances

    @property
    def pool_size(self) -> int:
        return self.workers or os.cpu_count() or 1

    def search_objectives(self, spec: ProblemSpec) -> list[Objective]:
        """The problem's objectives that selection uses, primary first (see ``objectives``); without a choice in
        the configuration, the problem's own ``search_objectives``, else all of them."""
        by_name = {o.name: o for o in spec.objectives}
        unknown = [name for name in self.objectives if name not in by_name]
        if unknown:
            raise ConfigError(f"unknown objective(s) {', '.join(unknown)}; this problem has {', '.join(by_name)}")
        return [by_name[name] for name in self.objectives or spec.search_objectives] or list(spec.objectives)

    @property
    def proposals_per_iteration(self) -> int:
        return self.batch_size or 2 * self.pool_size

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown configuration field(s): {', '.join(unknown)}; known: {', '.join(known)}")
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(str(exc)) from exc

    @classmethod
    def from_toml(cls, path: Path, **overrides: Any) -> RunConfig:
        try:
            values = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        return cls.from_dict({**values.get("run", values), **overrides})

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
