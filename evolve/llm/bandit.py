"""Chooses which model to ask: Thompson sampling on frontier improvement per dollar.

Each model keeps a Beta posterior over the chance that one of its calls yields a program that joins the train
frontier. To choose, the bandit samples a chance per model and divides it by the model's mean cost per call;
the largest quotient wins, so a model ten times dearer must be ten times likelier to help. A model that costs
nothing (a local one) would win any division, useful or not, so it is charged what the cheapest paid model
costs: it then competes with that one on its chance alone (and among free models only, chances decide).
Models with no calls yet are tried first, in order.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass
class ModelStats:
    """What one model has done so far in a run."""

    calls: int = 0
    hits: int = 0  # calls whose child joined the frontier
    dollars: float = 0.0

    @property
    def hits_per_dollar(self) -> float:
        """Frontier hits per dollar spent (infinite for a model that cost nothing and hit)."""
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
        return chance / (self._mean_cost(model) or self._cheapest_paid())

    def _mean_cost(self, model: str) -> float:
        stats = self.stats[model]
        return stats.dollars / stats.calls if stats.calls else 0.0

    def _cheapest_paid(self) -> float:
        """What a free model's call is charged: the cheapest paid model's mean (1 when none is paid)."""
        return min((cost for cost in map(self._mean_cost, self.stats) if cost > 0), default=1.0)

    def snapshot(self, models: list[str] | None = None) -> ModelBandit:
        """A copy that later updates do not change (a proposal chooses on the run's state at its launch),
        restricted to ``models`` when given."""
        kept = list(self.stats) if models is None else [model for model in models if model in self.stats]
        copy = ModelBandit(kept)
        copy.stats = {model: ModelStats(s.calls, s.hits, s.dollars) for model, s in self.stats.items() if model in kept}
        return copy

    def update(self, model: str, joined_frontier: bool, dollars: float) -> None:
        stats = self.stats.setdefault(model, ModelStats())
        stats.calls += 1
        stats.hits += int(joined_frontier)
        stats.dollars += dollars

    def summary(self) -> list[tuple[str, int, int, float, float]]:
        """(model, calls, frontier hits, dollars, hits per dollar) per model."""
        return [(m, s.calls, s.hits, s.dollars, s.hits_per_dollar) for m, s in self.stats.items()]
