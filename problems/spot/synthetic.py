"""Synthetic availability traces: alternating available / unavailable periods with fitted lifetimes.

Spot lifetimes are heavy-tailed (in the SkyPilot traces a median available period of a few ticks sits beside
periods of days), so each period's length is drawn from a discretised log-normal: ``max(1, round(exp(N(mu,
sigma))))`` ticks. ``sigma`` is the standard deviation of the log lengths of a real trace's periods, and ``mu``
is set so that the log-normal's mean, ``exp(mu + sigma^2 / 2)``, is the periods' mean length: the mean lengths
of available and unavailable periods set a trace's availability, which the maximum-likelihood ``mu`` (the mean
log length) misses by up to 17 points on these heavy tails (us-west-2b_k80_1: 28% available instead of 12%).
The first and last periods of a trace are cut by its ends and are fitted as if whole, a small bias towards short
periods.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from problems.base import ProblemError


@dataclass(frozen=True)
class Lifetimes:
    """Fitted log-normal lifetimes of one zone's periods, in ticks.

    Attributes:
        up_mu, up_sigma: mean and standard deviation of the log length of available periods.
        down_mu, down_sigma: the same for unavailable periods.
    """

    up_mu: float
    up_sigma: float
    down_mu: float
    down_sigma: float

    def mean_up(self) -> float:
        return math.exp(self.up_mu + self.up_sigma**2 / 2)

    def mean_down(self) -> float:
        return math.exp(self.down_mu + self.down_sigma**2 / 2)

    def availability(self) -> float:
        """Long-run share of available ticks (before rounding of the lengths)."""
        return self.mean_up() / (self.mean_up() + self.mean_down())


def periods(available: str) -> tuple[list[int], list[int]]:
    """Lengths of the available and of the unavailable periods of a 0/1 string, in order of appearance."""
    up, down = [], []
    for value, run in itertools.groupby(available):
        (up if value == "1" else down).append(sum(1 for _ in run))
    return up, down


def fit_lifetimes(available: str) -> Lifetimes:
    """The log-normal fit of a trace's periods; ProblemError when it lacks periods of either kind."""
    up, down = periods(available)
    if not up or not down:
        raise ProblemError("cannot fit lifetimes: the trace needs both available and unavailable periods")
    return Lifetimes(*_log_moments(up), *_log_moments(down))


def _log_moments(lengths: list[int]) -> tuple[float, float]:
    """(mu, sigma) of the log-normal with the lengths' log spread and their mean length."""
    logs = [math.log(n) for n in lengths]
    mean_log = sum(logs) / len(logs)
    sigma = math.sqrt(sum((x - mean_log) ** 2 for x in logs) / len(logs))
    return math.log(sum(lengths) / len(lengths)) - sigma**2 / 2, sigma


def synthetic_trace(lifetimes: Lifetimes, ticks: int, seed: int) -> str:
    """``ticks`` ticks of alternating periods; the first state is drawn with the long-run availability."""
    rng = random.Random(seed)
    state = rng.random() < lifetimes.availability()
    parts: list[str] = []
    total = 0
    while total < ticks:
        mu, sigma = (lifetimes.up_mu, lifetimes.up_sigma) if state else (lifetimes.down_mu, lifetimes.down_sigma)
        length = max(1, round(math.exp(min(rng.gauss(mu, sigma), 30.0))))  # exp(30) ticks: far past any trace
        length = min(length, ticks - total)
        parts.append(("1" if state else "0") * length)
        total += length
        state = not state
    return "".join(parts)
