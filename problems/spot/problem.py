"""The trusted half of ``spot``: splits, the verifier of action logs, aggregation and the omniscient optimum.

A candidate's output is the log of its policy's actions; ``verify`` replays it with the same engine on the
instance's own trace windows (``problems/spot/sim.py``) and computes cost and deadline outcome itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from problems.base import SPLITS, Instance, InstanceRun, Problem, ProblemError, ProblemSpec, Reference, Verdict
from problems.spot import references
from problems.spot.files import FilePlan, scenario_cells
from problems.spot.grid import Grid, TraceSource, expand
from problems.spot.sim import Infeasible, Outcome, Scenario, ScenarioError, on_demand_outcome, replay
from problems.spot.synthetic import Lifetimes
from problems.spot.traces import traces_dir

# Per-scenario values averaged over instances by `aggregate`.
_MEANS = ("cost", "on_demand_cost", "optimum", "spot_hours", "on_demand_hours", "changeovers", "preemptions")


def _lifetimes(options: dict[str, Any]) -> dict[str, Lifetimes]:
    try:
        return {
            name: Lifetimes(*(float(x) for x in raw["up"]), *(float(x) for x in raw["down"]))
            for name, raw in options.get("lifetimes", {}).items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ProblemError(f"spot: invalid [options.lifetimes] in problem.toml ({exc!r})") from None


def split_grids(options: dict[str, Any]) -> dict[str, list[Grid]]:
    try:
        raw = {name: options["splits"][name]["grids"] for name in SPLITS}
    except (KeyError, TypeError) as exc:
        raise ProblemError(f"spot: invalid [options.splits] in problem.toml ({exc!r})") from None
    return {name: [Grid.from_options(g) for g in grids] for name, grids in raw.items()}


def scenario_values(sc: Scenario, outcome: Outcome, optimum: float) -> dict[str, float]:
    """What the verifier reports of one finished scenario."""
    on_demand = on_demand_outcome(sc).cost
    return {
        "cost": outcome.cost,
        "on_demand_cost": on_demand,
        "optimum": optimum,
        "gap": 100.0 * (outcome.cost - optimum) / optimum if optimum > 0 else 0.0,
        "finish_hours": (outcome.finish_time or 0.0) / 3600.0,
        "spot_hours": outcome.spot_ticks * sc.gap / 3600.0,
        "on_demand_hours": outcome.on_demand_ticks * sc.gap / 3600.0,
        "changeovers": float(outcome.changeovers),
        "preemptions": float(outcome.preemptions),
        "zones": float(sc.zones),
    }


class SpotProblem(Problem):
    """Deadline-aware spot scheduling; a candidate is a policy called every tick (docs/spot.md)."""

    BOUND_STATUS = {"omniscient optimum": "optimal"}  # the dynamic program over the whole trace

    def __init__(self, spec: ProblemSpec):
        super().__init__(spec)
        self._grids = split_grids(spec.options)
        self._files = FilePlan.from_options(spec.options.get("files", {}), "spot: [options.files] in problem.toml")
        synthetic = spec.options.get("synthetic", {})
        self._source = TraceSource(
            traces_dir(),
            _lifetimes(spec.options),
            ticks=int(synthetic.get("ticks", 3895)),
            gap_seconds=float(synthetic.get("gap_seconds", 600.0)),
            convention=self._files.convention,
        )
        self._scenarios: dict[int, tuple[Instance, Scenario]] = {}  # by id(instance); holds the instance alive

    def instances(self, split: str) -> list[Instance]:
        grids = self._grids.get(split)
        if grids is None:
            raise ProblemError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        cells = [cell for grid in grids for cell in expand(grid, self._source)]
        return self._with_optima(split, [(group, data) for group, data, _ in cells])

    def stress_instances(self) -> list[Instance]:
        """Scenarios unlike train's, where a policy tuned on it may miss the deadline or fail: spot never
        available, always available, four zones (train has at most two) taking turns, a deadline that leaves
        only a few changeovers of slack, a job of one tick, and changeovers as long as a tenth of the job."""
        return self._with_optima("stress", [(name, _stress_scenario(**case)) for name, case in _STRESS.items()])

    def _with_optima(self, prefix: str, cells: list[tuple[str, dict]]) -> list[Instance]:
        scenarios = []
        for group, data in cells:
            try:
                scenarios.append(Scenario.from_data(data))
            except ScenarioError as exc:
                raise ProblemError(f"spot: scenario {group}: {exc}") from None
        optimal = references.optima([data for _, data in cells], scenarios)
        instances = []
        for k, ((group, data), sc, ref) in enumerate(zip(cells, scenarios, optimal)):
            instance = Instance(f"{prefix}-{k:04d}", group, data, reference=ref.value, reference_kind=ref.kind)
            self._scenarios[id(instance)] = (instance, sc)
            instances.append(instance)
        return instances

    def _scenario(self, instance: Instance) -> Scenario:
        known = self._scenarios.get(id(instance))
        if known is not None and known[0] is instance:
            return known[1]
        sc = Scenario.from_data(instance.data)  # trusted data: a failure here is our bug, not the candidate's
        self._scenarios[id(instance)] = (instance, sc)
        return sc

    def verify(self, instance: Instance, output: Any) -> Verdict:
        sc = self._scenario(instance)
        try:
            outcome = replay(sc, output)
        except Infeasible as exc:
            return Verdict(False, reason=f"infeasible action log: {exc}")
        if not outcome.finished:
            ended = "" if len(outcome.log) == sc.ticks else f" (the log stops after {len(outcome.log)} ticks)"
            return Verdict(
                False,
                reason=f"deadline missed: {outcome.done / 3600:.4g} of {sc.task / 3600:g} h of compute done by "
                f"the deadline at {sc.deadline / 3600:g} h{ended}",
            )
        return Verdict(True, scenario_values(sc, outcome, self.bound(instance).value))

    def aggregate(self, runs: Sequence[InstanceRun]) -> dict[str, float]:
        """Means over scenarios (each weighs the same); savings and gap of the mean cost, as the literature
        reports them; the worst scenario's gap; means over single- and multi-zone scenarios apart."""
        if not runs:
            raise ProblemError("spot: nothing to aggregate (no instance runs)")
        if not all(r.verdict.feasible for r in runs):
            raise ProblemError("spot: aggregate takes feasible runs only")
        values = [r.verdict.values for r in runs]
        result = {name: sum(v[name] for v in values) / len(values) for name in _MEANS}
        result["savings"] = 100.0 * (1.0 - result["cost"] / result["on_demand_cost"])
        result["gap"] = 100.0 * (result["cost"] / result["optimum"] - 1.0)
        result["worst_gap"] = max(v["gap"] for v in values)
        result["misses"] = 0.0  # a missed deadline makes the run infeasible: a feasible set has none
        for name, members in (("cost_single", [v for v in values if v["zones"] == 1]),
                              ("cost_multi", [v for v in values if v["zones"] > 1])):  # fmt: skip
            if members:
                result[name] = sum(v["cost"] for v in members) / len(members)
        return result

    def bound(self, instance: Instance) -> Reference:
        """The omniscient optimum (exact), attached when the instance was made or solved now."""
        if instance.reference is not None and instance.reference_kind == "optimum":
            return Reference(instance.reference, "optimum", references.SOURCE)
        return references.optima([instance.data], [self._scenario(instance)])[0]

    def bench_bounds(self, instances: Sequence[Instance]) -> dict[str, dict[str, float]]:
        """The omniscient optimum's row: its own mean cost and savings (gap 0 by definition)."""
        if not instances:
            return {}
        runs = []
        for instance in instances:
            sc, optimum = self._scenario(instance), self.bound(instance).value
            values = dict.fromkeys(_MEANS, float("nan"))  # the program yields a cost, not a schedule's counts
            values.update(cost=optimum, on_demand_cost=on_demand_outcome(sc).cost, optimum=optimum, gap=0.0)
            values["zones"] = float(sc.zones)
            runs.append(InstanceRun(instance, Verdict(True, values), 0.0))
        return {"omniscient optimum": self.aggregate(runs)}

    def load_instances(self, path: Path) -> list[Instance]:
        """Scenarios of a SkyPilot trace file or a folder of them (single-zone environments), or of a scenario set
        (``.toml``: environments of any number of zones at their own prices; ``problems/spot/files.py``)."""
        return self._with_optima(Path(path).stem, scenario_cells(Path(path), self._files))


def make(spec: ProblemSpec) -> SpotProblem:
    """The problem object the registry asks for."""
    return SpotProblem(spec)


# Each: zones' availability patterns (repeated over the ticks), job and deadline in ticks, changeover in hours.
_STRESS: dict[str, dict[str, Any]] = {
    "never-spot": {"patterns": ["0"], "task": 30, "deadline": 45, "overhead": 0.2},
    "always-spot": {"patterns": ["1"], "task": 30, "deadline": 45, "overhead": 0.2},
    "four-zones-in-turn": {"patterns": ["1000", "0100", "0010", "0001"], "task": 30, "deadline": 60, "overhead": 0.02},
    "tight-deadline": {"patterns": ["110"], "task": 40, "deadline": 44, "overhead": 0.2},
    "one-tick-job": {"patterns": ["01"], "task": 1, "deadline": 8, "overhead": 0.02},
    "long-changeovers": {"patterns": ["1110000"], "task": 24, "deadline": 60, "overhead": 0.4},
}
_STRESS_GAP_SECONDS = 600.0


def _stress_scenario(patterns: list[str], task: int, deadline: int, overhead: float) -> dict[str, Any]:
    ticks = deadline
    tick_hours = _STRESS_GAP_SECONDS / 3600.0
    return {
        "gap_seconds": _STRESS_GAP_SECONDS,
        "task_hours": task * tick_hours,
        "deadline_hours": deadline * tick_hours,
        "overhead_hours": overhead,
        "on_demand_price": 3.06,
        "zones": [
            {"name": f"zone{k}", "available": (pattern * ticks)[:ticks], "spot_price": 0.92}
            for k, pattern in enumerate(patterns)
        ],
    }
