"""The stages a program passes on its way to the frontier, each stopping it at its first failure.

A starting program (seed, baseline) runs smoke -> train -> stress. A child first has its blocks checked against
its parent's, then runs smoke -> screen (when the run screens, ``screen.py``) -> train -> stress, then the
behaviour check against its parent (``behaviour.py``). Smoke fails fast, train is what selection uses, stress
(when the problem has a stress set) must give valid outputs before a program may join the frontier.

In a replay every program met again takes its recorded stages instead of running them, so that measured times,
and with them every selection and every prompt, are the recorded ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from evaluators.evaluator import EvaluationResult, Evaluator
from evolve import code_blocks
from evolve.archive.records import ProgramRecord
from evolve.config import RunConfig
from evolve.search import records
from evolve.search.behaviour import STAGE as BEHAVIOUR
from evolve.search.behaviour import BehaviourCheck
from evolve.search.screen import STAGE as SCREEN
from evolve.search.screen import Screen
from problems.base import Objective

CASCADE = ("smoke", "train", "stress")


class Cascade:
    """Runs programs through the stages; every evaluation it makes is reported to ``count``."""

    def __init__(
        self,
        config: RunConfig,
        evaluator: Evaluator,
        objectives: Sequence[Objective],
        count: Callable[[int], None],
        replayed: Sequence[ProgramRecord] = (),
    ):
        self.evaluator, self.objectives, self._count = evaluator, list(objectives), count
        # Hashed again rather than keyed by the stored hash: a run recorded under another Python version or an
        # older hashing still replays.
        self.replayed = {code_blocks.normalized_hash(p.code): p for p in replayed}
        size = config.screen_size(evaluator.problem.spec)
        self.screen = Screen(evaluator, objectives, size, config.seed, config.timing_tolerance) if size else None
        self._screen_splits: dict[int, str] = {}
        # None: no behaviour check (the hostile suite judges attacks by their evaluation alone).
        self.behaviour: BehaviourCheck | None = BehaviourCheck(
            objectives, self.evaluate, tolerance=config.timing_tolerance
        )

    def start_iteration(self, iteration: int) -> None:
        """Called before an iteration's first evaluation: its screen subset (iterations overlap)."""
        if self.screen is not None:
            self._screen_splits[iteration] = self.screen.split(iteration)

    def end_iteration(self, iteration: int) -> None:
        if self.screen is not None and self._screen_splits.pop(iteration, None) is not None:
            self.screen.forget(iteration)

    def evaluate(self, codes: Sequence[str], split: str) -> list[EvaluationResult]:
        results = self.evaluator.evaluate_many(codes, split)
        self._count(len(codes))
        return results

    def score(self, codes: Sequence[str], iteration: int) -> list[float | None]:
        """The tuning seam: the primary objective, lower is better, on the iteration's screen subset when the run
        screens, else on train."""
        results = self.evaluate(codes, self._screen_splits.get(iteration, "train"))
        primary = self.objectives[0]
        return [primary.oriented(r.metrics[primary.name]) if r.ok else None for r in results]

    def starting(self, codes: Sequence[str]) -> list[list[EvaluationResult]]:
        histories = self.recorded_or_run(codes, CASCADE)
        self._count(sum(len(h) for h in histories))
        return histories

    def children(
        self, codes: Sequence[str], parents: Sequence[ProgramRecord], iteration: int
    ) -> list[list[EvaluationResult]]:
        """Each child's stages; a child that changed code outside its blocks is rejected before running."""
        histories: list[list[EvaluationResult]] = [[] for _ in codes]
        runnable = []
        for index, (code, parent) in enumerate(zip(codes, parents)):
            reason = code_blocks.block_problem(parent.code, code)
            if reason:
                histories[index] = [EvaluationResult("static", "invalid", feedback=reason)]
            else:
                runnable.append(index)
        ran = self._screened([codes[i] for i in runnable], [parents[i] for i in runnable], iteration)
        for index, history in zip(runnable, ran):
            self._count(len(history))
            self._check_behaviour(codes[index], history, parents[index])
            histories[index] = history
        return histories

    def recorded_or_run(
        self, codes: Sequence[str], splits: Sequence[str], run_as: dict[str, str] | None = None
    ) -> list[list[EvaluationResult]]:
        """Each program's results on ``splits`` (stopping at a failure): recorded ones in a replay, else run, a
        stage named in ``run_as`` on the evaluator's split given there (and recorded under the stage's name)."""
        run_as = run_as or {}
        histories: list[list[EvaluationResult] | None] = []
        for code in codes:
            old = self._recorded(code)
            recorded = [e for s, e in (old.evaluations.items() if old else ()) if s in splits or s == "static"]
            histories.append([records.evaluation_result(e) for e in recorded] if recorded else None)
        fresh = [i for i, h in enumerate(histories) if h is None]
        if fresh:
            stage_of = {run_as[s]: s for s in splits if s in run_as}
            ran = self.evaluator.cascade_many([codes[i] for i in fresh], [run_as.get(s, s) for s in splits])
            for index, history in zip(fresh, ran):
                histories[index] = [replace(r, split=stage_of[r.split]) if r.split in stage_of else r for r in history]
        return histories  # type: ignore[return-value]

    def _recorded(self, code: str) -> ProgramRecord | None:
        return self.replayed.get(code_blocks.normalized_hash(code)) if self.replayed else None

    def _screened(
        self, codes: Sequence[str], parents: Sequence[ProgramRecord], iteration: int
    ) -> list[list[EvaluationResult]]:
        if self.screen is None:
            return self.recorded_or_run(codes, CASCADE)
        histories = self.recorded_or_run(codes, ("smoke", SCREEN), {SCREEN: self._screen_splits[iteration]})
        for history, parent in zip(histories, parents):
            if history and history[-1].split == SCREEN:
                history[-1] = self.screen.judge(history[-1], parent.evaluations.get("train"))
        alive = [i for i, history in enumerate(histories) if all(r.ok for r in history)]
        rest = self.recorded_or_run([codes[i] for i in alive], CASCADE[1:])
        for index, more in zip(alive, rest):
            histories[index] += more
        return histories

    def _check_behaviour(self, code: str, history: list[EvaluationResult], parent: ProgramRecord) -> None:
        """Appends the behaviour stage to a child that passed every stage, when it behaves like its parent; a
        replay takes the recorded stage instead of re-timing."""
        train = next((r for r in history if r.split == "train"), None)
        if self.behaviour is None or train is None or not all(r.ok for r in history):
            return
        old = self._recorded(code)
        if old is not None:
            recorded = old.evaluations.get(BEHAVIOUR)
            history += [records.evaluation_result(recorded)] if recorded is not None else []
            return
        result = self.behaviour.judge(code, train, parent.code, parent.evaluations.get("train"))
        if result is not None:
            history.append(result)
