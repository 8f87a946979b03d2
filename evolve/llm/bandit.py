"""Chooses which model to ask: Thompson sampling on frontier improvement per dollar.

Each model keeps a Beta posterior over the chance that one of its calls yields a program that joins the train
frontier. To choose, the bandit samples a chance per model and divides it by the model's mean cost per call
(plus a floor, so free local models stay comparable); the largest quotient wins. Models with no calls yet are
tried first, in order.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

COST_FLOOR_USD = 0.001  # what a call is taken to cost at least, so $0 models do not win by division alone


@dataclass
class ModelStats:
    """What one model has done so far in a run."""

    calls: int = 0
    hits: int = 0  # calls whose child joined the frontier
    dollars: float = 0.0

    @property
    def hits_per_dollar(self) -> float:
        """Frontier hits per dollar actually spent (infinite for a model that cost nothing and hit)."""
        if self.dollars > 0:
            return self.hits / self.dollars
        return math.inf if self.hits else 0.0


class ModelBandit:
    """Thompson sampling over models, rewarded by frontier improvement per dollar."""

    def __init__(self, models: list[str]):
        if not models:
            raise ValueError("the bandit needs at least one model")
        self.stats = {model: ModelStats() for model in models}

    def choose(self, rng: random.Random) -> str:
        untried = [model for model, stats in self.stats.items() if stats.calls == 0]
        if untried:
            return untried[0]
        return max(self.stats, key=lambda model: self._sampled_value(model, rng))

    def _sampled_value(self, model: str, rng: random.Random) -> float:
        stats = self.stats[model]
        chance = rng.betavariate(1 + stats.hits, 1 + stats.calls - stats.hits)
        return chance / (stats.dollars / stats.calls + COST_FLOOR_USD)

    def snapshot(self) -> ModelBandit:
        """A copy that later updates do not change: a proposal chooses on the run's state at its launch."""
        copy = ModelBandit(list(self.stats))
        copy.stats = {model: ModelStats(s.calls, s.hits, s.dollars) for model, s in self.stats.items()}
        return copy

    def update(self, model: str, joined_frontier: bool, dollars: float) -> None:
        stats = self.stats.setdefault(model, ModelStats())
        stats.calls += 1
        stats.hits += int(joined_frontier)
        stats.dollars += dollars

    def summary(self) -> list[tuple[str, int, int, float, float]]:
        """(model, calls, frontier hits, dollars, hits per dollar) per model."""
        return [(m, s.calls, s.hits, s.dollars, s.hits_per_dollar) for m, s in self.stats.items()]
