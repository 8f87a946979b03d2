"""The trusted half of ``jobshop``: splits, the verifier of decision logs, aggregation and the CP-SAT reference.

A candidate's output is its decision log, one job index per operation; ``verify`` rebuilds the active schedule
from it on its own ``Shop`` (every decision must be in the conflict set of its step), checks the schedule's
precedence and machine capacity once more on the start times (``shop.schedule_error``) and computes the makespan
and the gap to the reference itself.
"""

from __future__ import annotations

import re
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
    check_unique_seeds,
)
from problems.jobshop import instances, references
from problems.jobshop.shop import Infeasible, replay, schedule_error


@dataclass(frozen=True)
class SplitPlan:
    """How one split is generated: ``counts[i]`` instances of ``sizes[i]`` (jobs, machines), instance k of the
    split from seed ``base_seed + k``."""

    name: str
    sizes: tuple[tuple[int, int], ...]
    counts: tuple[int, ...]
    base_seed: int

    def cases(self) -> list[tuple[int, int, int]]:
        """(jobs, machines, seed) of each instance, in order."""
        sizes = [size for size, count in zip(self.sizes, self.counts) for _ in range(count)]
        return [(n, m, self.base_seed + k) for k, (n, m) in enumerate(sizes)]


def _plans(options: dict[str, Any]) -> dict[str, SplitPlan]:
    try:
        plans = {}
        for name in SPLITS:
            raw = options["splits"][name]
            sizes = tuple((int(n), int(m)) for n, m in raw["sizes"])
            counts = tuple(int(c) for c in raw.get("counts", [raw.get("count", 1)] * len(sizes)))
            if len(counts) != len(sizes) or min(counts) < 1 or min(min(s) for s in sizes) < 1:
                raise ValueError(f"{name}: sizes and counts must pair up, all positive")
            plans[name] = SplitPlan(name, sizes, counts, int(raw["base_seed"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProblemError(f"jobshop: invalid [options.splits] in problem.toml ({exc!r})") from None
    check_unique_seeds("jobshop", [(p.name, seed) for p in plans.values() for _, _, seed in p.cases()])
    return plans


class JobshopProblem(Problem):
    """Job-shop scheduling by a priority rule inside the Giffler-Thompson scheme (docs/jobshop.md)."""

    def __init__(self, spec: ProblemSpec):
        super().__init__(spec)
        self.reference_limit = float(spec.options.get("reference_limit", 5.0))
        self._plans = _plans(spec.options)
        self._built: dict[str, list[Instance]] = {}

    def instances(self, split: str) -> list[Instance]:
        if split not in self._plans:
            raise ProblemError(f"unknown split {split!r}; choose one of {', '.join(self._plans)}")
        if split not in self._built:
            cases = self._plans[split].cases()
            self._built[split] = [instances.generated(split, k, n, m, seed) for k, (n, m, seed) in enumerate(cases)]
        return self._built[split]

    def stress_instances(self) -> list[Instance]:
        """Shops unlike train's: one operation, one job, one machine, equal durations everywhere (every rule
        ties), a 100 x 20 shop, and jobs of unequal lengths that skip machines. Their reference is the trivial
        lower bound, as stress values are never scored."""
        cases = {
            "one-operation": {"jobs": [[[0, 7]]], "machines": 1},
            "one-job": {"jobs": [[[2, 5], [0, 3], [1, 9]]], "machines": 3},
            "one-machine": {"jobs": [[[0, d]] for d in (4, 1, 8, 2, 6)], "machines": 1},
            "all-ties": {"jobs": [[[(j + k) % 5, 10] for k in range(5)] for j in range(5)], "machines": 5},
            "n100x20": {"jobs": instances.generate(100, 20, 4242, 2424), "machines": 20},
            "ragged": {"jobs": [[[0, 3], [2, 4]], [[1, 2]], [[2, 5], [1, 1], [0, 2]], [[0, 9]]], "machines": 3},
        }
        return [
            Instance(f"stress-{name}", name, data, float(references.lower_bound(data)), "bound")
            for name, data in cases.items()
        ]

    def verify(self, instance: Instance, output: Any) -> Verdict:
        data = instance.data
        try:
            shop = replay(data["jobs"], data["machines"], output)
        except Infeasible as exc:
            return Verdict(False, reason=str(exc))
        fault = schedule_error(data["jobs"], data["machines"], shop.starts)
        if fault:  # the replay builds feasible schedules only: a fault here is a bug of ours, reported all the same
            return Verdict(False, reason=fault)
        makespan = float(shop.makespan())
        reference = self.bound(instance).value
        return Verdict(
            True,
            {
                "makespan": makespan,
                "reference": reference,
                "gap": 100.0 * (makespan - reference) / reference,
                "operations": float(shop.total),
            },
        )

    def aggregate(self, runs: Sequence[InstanceRun]) -> dict[str, float]:
        if not runs or not all(r.verdict.feasible for r in runs):
            raise ProblemError("jobshop: aggregate takes one or more feasible runs")
        values = [r.verdict.values for r in runs]
        seconds = sum(r.seconds for r in runs)
        return {
            "gap": sum(v["gap"] for v in values) / len(values),
            "decision_us": 1e6 * seconds / max(sum(v["operations"] for v in values), 1.0),
            "at_reference": sum(v["makespan"] <= v["reference"] for v in values) / len(values),
            "time_ms": 1000.0 * seconds / len(runs),
        }

    def bound(self, instance: Instance) -> Reference:
        """A supplied optimum or bound (Taillard's header, a sidecar file); else CP-SAT's optimum where it proves
        one within ``reference_limit``, else the better of its proven lower bound and the machine-load bound."""
        if instance.reference is not None:
            return Reference(
                float(instance.reference), "optimum" if instance.reference_kind == "optimum" else "bound", "file"
            )
        found = references.record(instance.data, self.reference_limit)
        if found["status"] == "optimal":
            return Reference(float(found["makespan"]), "optimum", "cp-sat")
        return Reference(float(max(found["bound"], references.lower_bound(instance.data))), "bound", "cp-sat")

    def bench_bounds(self, instances_: Sequence[Instance]) -> dict[str, dict[str, float]]:
        """CP-SAT beside the baselines: its schedules' gap to the references, named by how many it proved
        optimal; where some are not, the references (its lower bounds there) as a row at gap 0. A set with
        supplied references shows those alone."""
        if not instances_:
            return {}
        if any(i.reference is not None for i in instances_):
            kinds = sorted({self.bound(i).kind for i in instances_})
            return {f"published ({', '.join(kinds)})": {"gap": 0.0}}
        gaps, optimal = [], 0
        for instance in instances_:
            found = references.record(instance.data, self.reference_limit)
            reference = self.bound(instance).value
            gaps.append(100.0 * (found["makespan"] - reference) / reference)
            optimal += found["status"] == "optimal"
        if optimal == len(instances_):
            return {"CP-SAT optimum": {"gap": 0.0, "at_reference": 1.0}}
        best = {"gap": sum(gaps) / len(gaps), "at_reference": optimal / len(instances_)}
        return {f"CP-SAT best ({optimal}/{len(instances_)} optimal)": best, "CP-SAT lower bound": {"gap": 0.0}}

    def bound_status(self, name: str) -> str:
        if name == "CP-SAT optimum":
            return "optimal"
        if name == "CP-SAT lower bound":
            return "lower bound"
        proved = re.fullmatch(r"CP-SAT best \((\d+)/\d+ optimal\)", name)
        if proved:
            return "optimal / feasible" if int(proved.group(1)) else "feasible"
        if name.startswith("published"):
            return " / ".join({"optimum": "optimal", "bound": "lower bound"}[k] for k in re.findall(r"\w+", name)[1:])
        return super().bound_status(name)

    def load_instances(self, path: Path) -> list[Instance]:
        """a file in the OR-Library/JSPLIB format ('n m', then per job m pairs 'machine duration', machines
        0-based) or Taillard's ('Times' and 'Machines' blocks, machines 1-based), its optimum or bounds from
        Taillard's header or a sidecar FILE.ref with lines 'NAME optimum VALUE' or 'NAME bound LOWER UPPER'.

        Parsing and its one-line errors: ``instances.py``."""
        return instances.load(Path(path))


def make(spec: ProblemSpec) -> JobshopProblem:
    """The problem object the registry asks for."""
    return JobshopProblem(spec)
