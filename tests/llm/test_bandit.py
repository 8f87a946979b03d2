import math
import random
from collections import Counter

import pytest

from evolve.llm.bandit import ModelBandit


def test_every_model_is_tried_once_before_sampling_starts():
    bandit = ModelBandit(["a", "b", "c"])
    order = []
    for _ in range(3):
        model = bandit.choose(random.Random(0))
        order.append(model)
        bandit.update(model, joined_frontier=False, dollars=0.01)
    assert order == ["a", "b", "c"]


def test_a_model_that_improves_the_frontier_cheaply_is_asked_most():
    bandit = ModelBandit(["cheap-good", "dear-poor"])
    for _ in range(20):
        bandit.update("cheap-good", joined_frontier=True, dollars=0.001)
        bandit.update("dear-poor", joined_frontier=False, dollars=0.05)
    rng = random.Random(1)
    picks = Counter(bandit.choose(rng) for _ in range(200))
    assert picks["cheap-good"] > 190


def test_a_free_model_that_never_helps_does_not_win_by_costing_nothing():
    bandit = ModelBandit(["free", "paid"])
    for _ in range(30):
        bandit.update("free", joined_frontier=False, dollars=0.0)
        bandit.update("paid", joined_frontier=True, dollars=0.002)
    rng = random.Random(2)
    picks = Counter(bandit.choose(rng) for _ in range(200))
    assert picks["paid"] > 180


def test_choices_are_reproducible_from_the_seed_and_the_summary_counts_calls():
    def run(seed):
        bandit = ModelBandit(["a", "b"])
        rng = random.Random(seed)
        picks = []
        for step in range(30):
            model = bandit.choose(rng)
            picks.append(model)
            bandit.update(model, joined_frontier=step % 3 == 0, dollars=0.01)
        return picks, bandit.summary()

    assert run(5) == run(5)
    _, summary = run(5)
    assert sum(calls for _, calls, _, _, _ in summary) == 30


def test_the_summary_shows_hits_per_dollar_spent_without_the_cost_floor():
    bandit = ModelBandit(["cheap", "free", "idle"])
    bandit.update("cheap", joined_frontier=True, dollars=0.00096)
    bandit.update("free", joined_frontier=True, dollars=0.0)
    bandit.update("idle", joined_frontier=False, dollars=0.0)
    per_dollar = {model: value for model, _, _, _, value in bandit.summary()}
    assert per_dollar["cheap"] == pytest.approx(1 / 0.00096) and per_dollar["free"] == math.inf
    assert per_dollar["idle"] == 0.0


def test_a_price_gap_counts_in_full_between_paid_models():
    """1 hit in 5 at $0.0001 is 2,000 hits per dollar; 9 in 10 at $0.001 is 900: the cheap model should win
    (a $0.001 cost floor added to both made it 182 against 450, and the dear one won)."""
    bandit = ModelBandit(["cheap-fair", "dear-good"])
    for call in range(100):
        bandit.update("cheap-fair", joined_frontier=call % 5 == 0, dollars=0.0001)
        bandit.update("dear-good", joined_frontier=call % 10 != 0, dollars=0.001)
    rng = random.Random(3)
    picks = Counter(bandit.choose(rng) for _ in range(200))
    assert picks["cheap-fair"] > 180


def test_a_snapshot_chooses_only_among_the_models_it_was_given():
    bandit = ModelBandit(["a", "b", "c"])
    for model in ("a", "b", "c"):
        bandit.update(model, joined_frontier=model == "a", dollars=0.01)
    only = bandit.snapshot(["b", "c"])
    assert {only.choose(random.Random(seed)) for seed in range(50)} == {"b", "c"}
    bandit.update("b", joined_frontier=True, dollars=0.01)
    assert only.stats["b"].calls == 1  # later updates do not reach it
