"""The models a run still asks, and how a proposal chooses one of them.

A model whose calls keep failing (a refused key, an unknown model, a server that is down, empty or malformed
answers) is dropped after ``failures_to_drop`` failed calls in a row, at once for a refused key: asking it again
would spend minutes of retries, and on some providers money, for nothing. A call that got an answer, even one
whose edit could not be applied, ends a model's streak. Calls are counted in commit order, never as threads
finish them, so which model is dropped when does not depend on timing: a replay or a resume drops the same
models at the same iterations.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from evolve.llm.bandit import ModelBandit

FAILED = "call_failed"  # the status of a call that got no answer (``ledger.CallRecord``)


def failure(detail: str) -> tuple[str, str]:
    """(kind, reason) of a failed call's detail, stored as ``KIND: reason``; ``other`` when it has no kind."""
    kind, separator, reason = detail.partition(": ")
    return (kind, reason) if separator else ("other", detail)


_DROPS_AT_ONCE = ("auth",)  # failure kinds no later call can escape: a refused or missing key


class Roster:
    """Which models are still asked, by weight or by the run's bandit.

    Args:
        weights: model -> relative chance of being asked (with ``model_selection = "weights"``), in the
            order the run names them.
        failures_to_drop: failed calls in a row that drop a model.
    """

    def __init__(self, weights: dict[str, float], failures_to_drop: int = 3):
        if not weights:
            raise ValueError("the roster needs at least one model")
        if failures_to_drop < 1:
            raise ValueError("failures_to_drop must be at least 1")
        self.weights, self.failures_to_drop = dict(weights), failures_to_drop
        self.streaks = dict.fromkeys(weights, 0)
        self.dropped: dict[str, str] = {}  # model -> why, in the order they were dropped

    @property
    def live(self) -> list[str]:
        return [model for model in self.weights if model not in self.dropped]

    def observe(self, model: str, status: str, detail: str) -> str | None:
        """Counts one committed call; returns a line saying so when it drops ``model``."""
        if model not in self.streaks or model in self.dropped:
            return None
        if status != FAILED:
            self.streaks[model] = 0
            return None
        self.streaks[model] += 1
        kind, _ = failure(detail)
        if self.streaks[model] < self.failures_to_drop and kind not in _DROPS_AT_ONCE:
            return None
        calls = "a refused key" if kind in _DROPS_AT_ONCE else f"{self.streaks[model]} failed calls in a row"
        self.dropped[model] = f"{calls}; the last: {detail}"
        left = ", ".join(self.live) or "none"
        return f"model {model} dropped after {self.dropped[model]} (models left: {left})"

    def no_model_left(self) -> str | None:
        """Why the run cannot go on asking models, or None."""
        if self.live:
            return None
        reasons = "; ".join(f"{model}: {why}" for model, why in self.dropped.items())
        return f"every model was dropped ({reasons})"

    def chooser(self, bandit: ModelBandit | None) -> Callable[[random.Random], str]:
        """How a proposal planned now chooses its model: the bandit's current figures (a copy) over the live
        models, or their weights."""
        live = self.live or list(self.weights)  # none live: the run stops before asking again
        if bandit is not None:
            return bandit.snapshot(live).choose
        weights = [self.weights[model] for model in live]
        return lambda rng: rng.choices(live, weights)[0]
