"""Behavioural duplicates: children that do exactly what their parent does.

Most offline edits touch dead code or move a constant without changing a single decision, and a measured
objective (a wall time) then differs from the parent's by noise alone: such a child would join the frontier
for being timed faster, be shown to the model as a good program and be credited to its mutator. A child whose
output on every train instance equals its parent's (same digest, computed by the trusted evaluator from the
bytes received) is therefore a *behavioural duplicate* and stops at this stage, unless it is faster beyond
noise: then parent and child are re-timed side by side, alternately, and the child is kept only if every one
of its times beats every one of the parent's and its median beats the parent's by more than a tolerance.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evaluators.evaluator import EvaluationResult
from evolve.archive.store import EvaluationRecord
from problems.base import Objective

STAGE = "behaviour"
EvaluateFn = Callable[[Sequence[str], str], list[EvaluationResult]]


def output_digests(evaluation: EvaluationResult | EvaluationRecord | None) -> tuple[str, ...] | None:
    """The per-instance output digests of a passed evaluation; None when it failed or predates digests."""
    if evaluation is None or not evaluation.ok or not evaluation.per_instance:
        return None
    digests = tuple(record.get("output_digest") for record in evaluation.per_instance)
    return None if None in digests else digests  # type: ignore[return-value]


@dataclass(frozen=True)
class BehaviourCheck:
    """Judges a child that passed train against its parent.

    Attributes:
        objectives: the run's selected objectives; only the ``measured`` ones can make a duplicate worth keeping.
        evaluate: runs programs on a split (the evaluator's ``evaluate_many``).
        repeats: paired re-measurements of parent and child when the child seems faster.
        tolerance: relative margin by which the child's median must beat the parent's.
    """

    objectives: Sequence[Objective]
    evaluate: EvaluateFn
    repeats: int = 3
    tolerance: float = 0.1

    def judge(
        self, child_code: str, child_train: EvaluationResult, parent_code: str, parent_train: EvaluationRecord | None
    ) -> EvaluationResult | None:
        """The behaviour stage's result; None when the child behaves differently and needs no such stage."""
        mine, theirs = output_digests(child_train), output_digests(parent_train)
        if mine is None or mine != theirs:
            return None
        measured = [o for o in self.objectives if o.measured]
        assert parent_train is not None  # theirs is not None
        seeming = [o for o in measured if self._beats(child_train.metrics, parent_train.metrics, o)]
        if not seeming:
            reason = "; measured objectives within noise" if measured else ""
            return self._duplicate(f"same output as its parent on all {len(mine)} train instances{reason}")
        runs = self.evaluate([parent_code, child_code] * self.repeats, "train")
        parent_runs, child_runs = runs[0::2], runs[1::2]
        if not all(r.ok for r in runs):
            return self._duplicate("same output as its parent on train; re-timing failed")
        for objective in seeming:
            parent_values = [objective.oriented(r.metrics[objective.name]) for r in parent_runs]
            child_values = [objective.oriented(r.metrics[objective.name]) for r in child_runs]
            faster = max(child_values) < min(parent_values)
            margin = statistics.median(child_values) < _shrunk(statistics.median(parent_values), self.tolerance)
            if faster and margin:
                shown = _shown(objective, child_values, parent_values)
                feedback = f"same output as its parent on train, and faster in {self.repeats} paired runs: {shown}"
                return EvaluationResult(STAGE, "ok", feedback=feedback)
        names = ", ".join(o.name for o in seeming)
        return self._duplicate(f"same output as its parent on train; {names} not better in paired runs")

    def _beats(self, child: dict[str, float], parent: dict[str, float], objective: Objective) -> bool:
        if objective.name not in child or objective.name not in parent:
            return False
        return objective.oriented(child[objective.name]) < _shrunk(
            objective.oriented(parent[objective.name]), self.tolerance
        )

    @staticmethod
    def _duplicate(feedback: str) -> EvaluationResult:
        return EvaluationResult(STAGE, "duplicate", feedback=f"behavioural duplicate: {feedback}")


def _shrunk(oriented_value: float, tolerance: float) -> float:
    """The oriented value a challenger must stay below to beat ``oriented_value`` by the relative tolerance."""
    return oriented_value - tolerance * abs(oriented_value)


def _shown(objective: Objective, child: list[float], parent: list[float]) -> str:
    def values(oriented: list[float]) -> str:
        return "/".join(f"{objective.oriented(v):.3g}" for v in oriented)

    return f"{objective.name} {values(child)} vs the parent's {values(parent)}{objective.unit}"
