"""The trusted half of ``tardiness``: splits, the verifier of job orders, aggregation and references.

Imports stay light (numpy and the standard library): every adrs command that names the problem loads it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
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
)
from problems.tardiness import instances as gen
from problems.tardiness.exact import total_weighted_tardiness
from problems.tardiness.references import reference_for


@dataclass(frozen=True)
class SplitPlan:
    """How one split is generated.

    Attributes:
        name: ``smoke``, ``train``, ``test`` or a named extra split (``n100``).
        sizes: job counts; every size gets one instance per (TF, RDD) pair.
        pairs: (tardiness factor, relative due-date range) classes.
        base_seed: instance k of the split uses seed ``base_seed + k``.
        count: instances in all, cycling through the sizes and pairs (0: one per size and pair).
    """

    name: str
    sizes: tuple[int, ...]
    pairs: tuple[tuple[float, float], ...]
    base_seed: int
    count: int = 0

    @property
    def seeds(self) -> range:
        return range(self.base_seed, self.base_seed + (self.count or len(self.sizes) * len(self.pairs)))

    def cases(self) -> list[tuple[int, tuple[float, float]]]:
        """(n, (TF, RDD)) of each instance, in order."""
        every = list(itertools.product(self.sizes, self.pairs))
        return [every[k % len(every)] for k in range(len(self.seeds))]


def _split_plans(options: dict[str, Any]) -> dict[str, SplitPlan]:
    """Split plans from ``[options]``; ProblemError when one is missing or two share a seed."""
    try:
        default_pairs = tuple(
            itertools.product(options.get("tf", gen.TARDINESS_FACTORS), options.get("rdd", gen.DUE_DATE_RANGES))
        )
        table = options["splits"]
        plans = {}
        for name in (*SPLITS, *(n for n in table if n not in SPLITS)):
            raw = table[name]
            pairs = tuple((float(tf), float(rdd)) for tf, rdd in raw.get("pairs", default_pairs))
            sizes = tuple(int(n) for n in raw["sizes"])
            plans[name] = SplitPlan(name, sizes, pairs, int(raw["base_seed"]), int(raw.get("count", 0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProblemError(f"tardiness: invalid [options.splits] in problem.toml ({exc!r})") from exc
    for a, b in itertools.combinations(plans.values(), 2):
        if set(a.seeds) & set(b.seeds):
            raise ProblemError(f"tardiness: splits {a.name} and {b.name} share seeds; move a base_seed apart")
    return plans


def _describe_int(x: int) -> str:
    # str() of an int over 4300 digits raises in Python 3.11; a hostile output must not crash the verifier.
    return str(x) if abs(x) < 10**18 else f"{'-' if x < 0 else ''}<{x.bit_length()}-bit integer>"


def permutation_error(output: Any, n: int) -> str:
    """Why ``output`` is not a permutation of job indices 0..n-1 (plain ints); empty when it is one."""
    if not isinstance(output, list):
        return f"output must be a list of {n} job indices, got {type(output).__name__}"
    if len(output) != n:
        return f"expected {n} jobs, got {len(output)}"
    for pos, x in enumerate(output):
        if isinstance(x, bool):
            return f"element {pos} is the bool {x}, not a job index"
        if isinstance(x, float):
            if math.isnan(x):
                return f"element {pos} is NaN, not a job index"
            if math.isinf(x):
                return f"element {pos} is {x}, not a job index"
            if x.is_integer():
                return f"element {pos} is the float {x!r}; job indices must be ints, not floats"
            return f"element {pos} is the float {x!r}, not a job index"
        if not isinstance(x, int):
            return f"element {pos} is a {type(x).__name__}, not a job index"
        if not 0 <= x < n:
            return f"index {_describe_int(x)} out of range 0..{n - 1} (element {pos})"
    seen = [0] * n
    for x in output:
        seen[x] += 1
    for x in output:  # report in the output's own order, so the message points at the first repeat
        if seen[x] > 1:
            return f"job {x} appears {'twice' if seen[x] == 2 else f'{seen[x]} times'}"
    return ""


class TardinessProblem(Problem):
    """Single-machine total weighted tardiness 1||Σw_jT_j; a candidate returns a job order."""

    def __init__(self, spec: ProblemSpec):
        super().__init__(spec)
        self._plans = _split_plans(spec.options)
        self._weighted = bool(spec.options.get("weighted", True))
        self._reference_seconds = float(spec.options.get("reference_seconds", 60.0))

    def extra_splits(self) -> tuple[str, ...]:
        """``n100``: 40 instances of 100 jobs from the OR-Library recipe, every class, for checking a program
        beyond the sizes of the splits (docs/benchmarks.md)."""
        return tuple(name for name in self._plans if name not in SPLITS)

    def instances(self, split: str) -> list[Instance]:
        plan = self._plans.get(split)
        if plan is None:
            raise ProblemError(f"unknown split {split!r}; choose one of {', '.join(self._plans)}")
        return [
            gen.generated_instance(f"{split}-{k:03d}", n, tf, rdd, seed, self._weighted)
            for k, ((n, (tf, rdd)), seed) in enumerate(zip(plan.cases(), plan.seeds))
        ]

    def stress_instances(self) -> list[Instance]:
        """Edge cases and sizes beyond train, where a rule tuned on train may break: one job, two, identical
        jobs, every due date 0, every job on time, and 200 jobs. Above the DP's size the reference is the
        trivial bound 0, as stress values are never scored."""
        cases = {
            "one-job": {"p": [7], "w": [3], "d": [0]},
            "two-jobs": {"p": [5, 5], "w": [1, 10], "d": [5, 5]},
            "identical": {"p": [10] * 12, "w": [2] * 12, "d": [30] * 12},
            "all-due-at-0": gen.generate(30, 1.0, 0.2, 9000, self._weighted) | {"d": [0] * 30},
            "all-on-time": gen.generate(30, 0.2, 0.2, 9001, self._weighted) | {"d": [10**6] * 30},
            "n200": gen.generate(200, 0.6, 0.4, 9002, self._weighted),
        }
        return [
            Instance(f"stress-{name}", name, data, *((0.0, "bound") if len(data["p"]) > 20 else ()))
            for name, data in cases.items()
        ]

    def verify(self, instance: Instance, output: Any) -> Verdict:
        data = instance.data
        reason = permutation_error(output, len(data["p"]))
        if reason:
            return Verdict(False, reason=reason)
        value = total_weighted_tardiness(data["p"], data["w"], data["d"], output)
        return Verdict(True, {"twt": value, "reference": self.bound(instance).value})

    def aggregate(self, runs: Sequence[InstanceRun]) -> dict[str, float]:
        if not runs:
            raise ProblemError("tardiness: nothing to aggregate (no instance runs)")
        if not all(r.verdict.feasible for r in runs):
            raise ProblemError("tardiness: aggregate takes feasible runs only")
        heuristic = sum(r.verdict.values["twt"] for r in runs)
        reference = sum(r.verdict.values["reference"] for r in runs)
        return {
            # A floor of 1 keeps the gap defined when every reference is 0 (all jobs can be on time).
            "gap": 100.0 * (heuristic - reference) / max(reference, 1.0),
            "time_ms": 1000.0 * sum(r.seconds for r in runs) / len(runs),
            "twt": float(heuristic),
            "reference": float(reference),
            "at_reference": sum(r.verdict.values["twt"] <= r.verdict.values["reference"] for r in runs) / len(runs),
        }

    def bound(self, instance: Instance) -> Reference:
        return reference_for(instance, self._reference_seconds)

    def bench_bounds(self, instances: Sequence[Instance]) -> dict[str, dict[str, float]]:
        """The references themselves, at gap 0: the optimum where every reference is one (up to 20 jobs);
        with computed references among them it is no bound, and its name says how many of each kind."""
        kinds = Counter(self.bound(instance).kind for instance in instances)
        if not kinds:
            return {}
        if set(kinds) == {"optimum"}:
            return {"optimum": {"gap": 0.0}}
        return {"references (" + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) + ")": {"gap": 0.0}}

    def bound_status(self, name: str) -> str:
        """Of the references row: ``optimal`` for optima, ``best known`` for published values, ``upper bound`` for
        our local search's (a schedule's value: the optimum is at most that)."""
        words = {"optimum": "optimal", "best-known": "best known", "computed": "upper bound", "bound": "lower bound"}
        found = [word for kind, word in words.items() if re.search(rf"\d+ {kind}\b", name) or name == kind]
        return " / ".join(found) or super().bound_status(name)

    def load_instances(self, path: Path) -> list[Instance]:
        """Instances of an OR-Library weighted tardiness file named with its job count (``wt40.txt``, its best
        known values read from ``wtopt40``/``wtbest40*`` beside it), or of a JSON set of unweighted instances
        (``{"records": [{"p": [...], "d": [...]}, ...]}``)."""
        path = Path(path)
        if not path.is_file():
            raise ProblemError(f"{path}: no such instance file")
        if path.suffix.lower() == ".json":
            return gen.load_smtt_json(path)
        n = gen.jobs_from_name(path)
        loaded = gen.load_orlib(path, n)
        values = _sibling_references(path, n)
        return gen.with_references(loaded, values, path.parent) if values is not None else loaded


def _sibling_references(path: Path, n: int) -> list[float] | None:
    """Best-known values from OR-Library's companion files beside ``path`` (``wtopt40``, ``wtbest100b``...).

    Where several exist they are merged by taking the smaller value per instance: each is an upper bound.
    """
    files = [f for pattern in (f"wtopt{n}*", f"wtbest{n}*") for f in sorted(path.parent.glob(pattern))]
    lists = [gen.read_reference_values(f) for f in files if f.is_file() and f != path]
    if not lists:
        return None
    if len({len(values) for values in lists}) > 1:
        raise ProblemError(f"{path.parent}: reference files for n={n} disagree on the number of instances")
    return [min(column) for column in zip(*lists)]


def make(spec: ProblemSpec) -> TardinessProblem:
    """The problem object the registry asks for."""
    return TardinessProblem(spec)
