"""Every shipped program scores exactly as it did before the sandbox's trust boundary was redrawn (issue 14).

The pinned table (tests/data/baseline_scores.json, written by tests/baseline_scores.py from the code before
that change) holds each baseline's and seed's status, every unmeasured metric and a digest of every instance's
verifier values, on every split of every problem. Honest programs must not notice where the simulator runs or
how the sandbox is built; measured figures (time) are left out because they depend on the machine.
"""

from __future__ import annotations

import json

import pytest
from baseline_scores import FIXTURE, scores

from problems import registry
from problems.base import SPLITS

PINNED = json.loads(FIXTURE.read_text())


def test_the_table_covers_every_shipped_program_of_every_problem():
    assert sorted(PINNED) == registry.available()
    for name in registry.available():
        problem = registry.load(name)
        assert sorted(PINNED[name]) == sorted(p.stem for p in [*problem.baselines(), problem.seed_program()])


# Held for the slow suite: serving's test split (14 long, overloaded instances, minutes in the sandbox) and podpack's
# train and test (clusters of up to 2,000 nodes, thousands of pods each; minutes for the eight programs).
SLOW = {("serving", "test"), ("podpack", "train"), ("podpack", "test")}
DEFAULT = [(name, split) for name in registry.available() for split in SPLITS if (name, split) not in SLOW]


def _check(problem_name: str, splits: tuple[str, ...]) -> None:
    now = scores(problem_name, splits=splits)
    for program, pinned_splits in PINNED[problem_name].items():
        for split in splits:
            pinned, got = pinned_splits[split], now[program][split]
            where = f"{problem_name}/{program}/{split}"
            assert got["status"] == pinned["status"], where
            assert got["metrics"] == pytest.approx(pinned["metrics"], rel=1e-9), where
            assert got["instances"] == pinned["instances"], f"{where}: per-instance values changed"


@pytest.mark.parametrize("problem_name", registry.available())
def test_every_shipped_program_scores_as_pinned_on_every_split(problem_name):
    _check(problem_name, tuple(split for name, split in DEFAULT if name == problem_name))


@pytest.mark.slow
@pytest.mark.parametrize("problem_name, split", sorted(SLOW))
def test_every_shipped_program_scores_as_pinned_on_the_slow_splits(problem_name, split):
    _check(problem_name, (split,))
