"""The trusted solvers of ``tardiness``: objective, subset DP, computed reference."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from problems.base import ProblemError
from problems.tardiness.exact import (
    constructive_sequences,
    improved_reference,
    optimal_twt,
    total_weighted_tardiness,
)
from problems.tardiness.instances import generate

SMTT_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "smtt-eddc"


def _brute_force(p, w, d) -> int:
    return min(total_weighted_tardiness(p, w, d, seq) for seq in itertools.permutations(range(len(p))))


def test_total_weighted_tardiness_matches_hand_worked_example():
    # Order 1, 0, 2: job 1 ends at 2 (due 2, on time), job 0 at 5 (1 late x w 1), job 2 at 9 (3 late x w 3).
    assert total_weighted_tardiness([3, 2, 4], [1, 2, 3], [4, 2, 6], [1, 0, 2]) == 1 + 9


def test_total_weighted_tardiness_ignores_early_jobs_and_negative_due_dates_count_fully():
    assert total_weighted_tardiness([5], [2], [10], [0]) == 0
    assert total_weighted_tardiness([5], [2], [-3], [0]) == 16


def test_dp_equals_brute_force_over_all_permutations_on_random_small_instances():
    rng = np.random.default_rng(7)
    for _ in range(60):
        n = int(rng.integers(1, 8))
        p = rng.integers(1, 30, n).tolist()
        w = rng.integers(1, 10, n).tolist()
        d = rng.integers(-10, sum(p) + 5, n).tolist()
        value, seq = optimal_twt(p, w, d)
        assert value == _brute_force(p, w, d)
        assert sorted(seq) == list(range(n))
        assert total_weighted_tardiness(p, w, d, seq) == value


def test_dp_of_an_empty_instance_is_zero():
    assert optimal_twt([], [], []) == (0, [])


def test_dp_refuses_more_than_22_jobs_with_a_clear_error():
    with pytest.raises(ProblemError, match="at most 22 jobs"):
        optimal_twt([1] * 23, [1] * 23, [0] * 23)


def test_dp_sequence_reaches_the_optimum_at_20_jobs():
    data = generate(20, 0.6, 0.4, seed=11)
    value, seq = optimal_twt(data["p"], data["w"], data["d"])
    assert sorted(seq) == list(range(20))
    assert total_weighted_tardiness(data["p"], data["w"], data["d"], seq) == value
    for rule in constructive_sequences(data["p"], data["w"], data["d"]).values():
        assert value <= total_weighted_tardiness(data["p"], data["w"], data["d"], rule)


@pytest.mark.parametrize("tf, rdd", [(0.2, 0.2), (0.6, 0.6), (1.0, 1.0), (0.8, 0.2)])
def test_improved_reference_is_no_worse_than_every_constructive_rule(tf, rdd):
    data = generate(40, tf, rdd, seed=int(tf * 100 + rdd * 10))
    p, w, d = data["p"], data["w"], data["d"]
    value, seq = improved_reference(p, w, d, time_limit_s=5.0)
    assert sorted(seq) == list(range(40))
    assert value == total_weighted_tardiness(p, w, d, seq)
    for name, rule in constructive_sequences(p, w, d).items():
        assert value <= total_weighted_tardiness(p, w, d, rule), name


def test_improved_reference_is_an_upper_bound_of_the_optimum_and_often_equal():
    hits = 0
    for seed in range(5):
        data = generate(14, 0.6, 0.6, seed=seed)
        optimum, _ = optimal_twt(data["p"], data["w"], data["d"])
        value, _ = improved_reference(data["p"], data["w"], data["d"])
        assert value >= optimum
        hits += value == optimum
    assert hits >= 3


def test_improved_reference_is_deterministic():
    data = generate(30, 0.8, 0.4, seed=5)
    assert improved_reference(data["p"], data["w"], data["d"]) == improved_reference(data["p"], data["w"], data["d"])


def _smtt_records() -> list[dict]:
    path = SMTT_DIR / "smtt_n20_800.json"
    if not path.is_file():
        pytest.skip(f"public data set absent: {path} (see ../shared/data/README.md)")
    return json.loads(path.read_text())["records"]


def _assert_dp_matches_published(records: list[dict]) -> None:
    for record in records:
        value, _ = optimal_twt(record["p"], [1] * record["n"], record["d"])
        assert value == record["reference_total_tardiness"], record["id"]


def test_dp_equals_published_optimum_on_an_evenly_spaced_sample_of_smtt_n20():
    records = _smtt_records()
    _assert_dp_matches_published(records[:: len(records) // 40][:40])


@pytest.mark.slow
def test_dp_equals_published_optimum_on_all_800_smtt_n20_instances():
    _assert_dp_matches_published(_smtt_records())
