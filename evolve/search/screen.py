"""The screen: a cheap first look at a child on a few train instances, before its full train evaluation.

Where one train evaluation is costly (``serving`` simulates minutes of traffic per instance), most of a run's
time would go to children that do no better than their parent: edits of dead code, constants moved without
effect. With a screen, each iteration draws a small subset of the train instances (a window sliding over a
seeded permutation, so that over the iterations every instance is used), and a child first runs on that subset
only. It goes on to the full train split, on which selection and the frontier rely, only if it beats its parent
on the subset in some objective (in a measured one, a wall time, only if it also matches the parent in the
others); the parent's figures on the same instances are its stored train results, so the screen costs one small
evaluation per child. Tuning scores its trials on the subset too, and its best trial must then hold on the full
split like any other child.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from evaluators.evaluator import EvaluationResult, Evaluator
from evolve.archive.records import EvaluationRecord
from problems.base import Objective

STAGE = "screen"


class Screen:
    """Draws each iteration's subset of train and judges children on it against their parents."""

    def __init__(self, evaluator: Evaluator, objectives: Sequence[Objective], size: int, seed: int, tolerance: float):
        """
        Args:
            evaluator: the run's evaluator; the subset is given to it as the split ``screen``.
            objectives: the run's selected objectives.
            size: instances per subset (at most the train split's size).
            seed: the run's seed, which fixes the permutation the subsets are cut from.
            tolerance: relative margin by which a measured objective (a wall time) must beat the parent's.
        """
        train = evaluator.instances("train")
        self.evaluator, self.objectives, self.tolerance = evaluator, list(objectives), tolerance
        self.size = min(size, len(train))
        self._order = list(range(len(train)))
        random.Random(f"{seed}:screen").shuffle(self._order)

    def subset(self, iteration: int) -> list[int]:
        """Indices into train of the iteration's subset: the next ``size`` of the permutation, wrapping around."""
        start = (iteration * self.size) % len(self._order)
        return [self._order[(start + k) % len(self._order)] for k in range(self.size)]

    def split(self, iteration: int) -> str:
        """The evaluator's split holding the iteration's subset, made now: iterations in flight at once (see
        ``pipeline_depth``) each screen on their own subset. Results on it are stored as the stage ``screen``."""
        train = self.evaluator.instances("train")
        name = f"{STAGE}@{iteration}"
        self.evaluator.use_instances(name, [train[i] for i in self.subset(iteration)])
        return name

    def forget(self, iteration: int) -> None:
        self.evaluator.forget_instances(f"{STAGE}@{iteration}")

    def judge(self, child: EvaluationResult, parent_train: EvaluationRecord | None) -> EvaluationResult:
        """The child's screen result, failed (``screened``) when it beats its parent nowhere on the subset."""
        if not child.ok or parent_train is None or not parent_train.ok:
            return child
        ids = {record["id"] for record in child.per_instance}
        parent = self.evaluator.metrics_of([r for r in parent_train.per_instance if r["id"] in ids], "train")
        if parent is None:
            return child
        better = [o.name for o in self.objectives if self._beats(child.metrics, parent, o)]
        quality = [o for o in self.objectives if not o.measured]
        # A wall time on a few instances is noisy: it lets a child through only if it matches the parent on the
        # objectives computed from outputs, so that noise alone cannot buy a child that is worse at its job.
        if any(o.measured and o.name in better for o in self.objectives) and not all(
            o.oriented(child.metrics[o.name]) <= o.oriented(parent[o.name]) for o in quality
        ):
            better = [o.name for o in quality if o.name in better]
        if better:
            return replace(child, feedback=f"beats its parent on the screen in {', '.join(better)}; " + child.feedback)
        shown = ", ".join(
            f"{o.name} {child.metrics[o.name]:.4g} vs {parent[o.name]:.4g}{o.unit}"
            for o in self.objectives
            if o.name in child.metrics and o.name in parent
        )
        feedback = f"screened out: no better than its parent on {len(ids)} train instances ({shown})"
        return replace(child, status="screened", feedback=feedback)

    def _beats(self, child: dict[str, float], parent: dict[str, float], objective: Objective) -> bool:
        if objective.name not in child or objective.name not in parent:
            return False
        mine, theirs = objective.oriented(child[objective.name]), objective.oriented(parent[objective.name])
        margin = self.tolerance * abs(theirs) if objective.measured else 0.0
        return mine < theirs - margin
