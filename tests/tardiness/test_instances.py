"""Instances of ``tardiness``: the OR-Library generator recipe and the two public file formats."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from problems.base import ProblemError
from problems.registry import load
from problems.tardiness.instances import generate, generated_instance, load_orlib, load_smtt_json

SMTT_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "smtt-eddc"


def test_generator_is_deterministic_for_a_seed_and_changes_with_it():
    assert generate(20, 0.6, 0.4, seed=3) == generate(20, 0.6, 0.4, seed=3)
    assert generate(20, 0.6, 0.4, seed=3) != generate(20, 0.6, 0.4, seed=4)


def test_generator_gives_plain_python_ints():
    data = generate(10, 0.4, 0.2, seed=1)
    assert all(type(x) is int for key in ("p", "w", "d") for x in data[key])


@pytest.mark.parametrize("tf, rdd", [(0.2, 0.2), (0.6, 0.4), (1.0, 1.0)])
def test_generator_follows_the_orlibrary_ranges(tf, rdd):
    for seed in range(20):
        data = generate(50, tf, rdd, seed=seed)
        total = sum(data["p"])
        assert all(1 <= x <= 100 for x in data["p"])
        assert all(1 <= x <= 10 for x in data["w"])
        low = max(math.ceil(total * (1 - tf - rdd / 2) - 1e-9), 0)
        high = math.floor(total * (1 - tf + rdd / 2) + 1e-9)
        assert all(low <= x <= high for x in data["d"])


def test_generator_clips_negative_due_dates_at_zero():
    # TF=1, RDD=1: due dates are drawn from [-P/2, P/2], so about half would be negative unclipped.
    d = [x for seed in range(5) for x in generate(40, 1.0, 1.0, seed=seed)["d"]]
    assert min(d) == 0
    assert sum(x == 0 for x in d) > len(d) // 4


def test_unweighted_instances_have_unit_weights_and_share_times_and_due_dates():
    weighted = generate(15, 0.4, 0.8, seed=9)
    unweighted = generate(15, 0.4, 0.8, seed=9, weighted=False)
    assert unweighted["w"] == [1] * 15
    assert (unweighted["p"], unweighted["d"]) == (weighted["p"], weighted["d"])


def test_generated_instance_is_labelled_with_its_class():
    assert generated_instance("x", 20, 0.6, 0.4, seed=1).group == "n20-TF0.6-RDD0.4"


def _write_orlib(path: Path, instances: list[tuple[list[int], list[int], list[int]]]) -> Path:
    # OR-Library wraps its numbers over lines without regard to instance boundaries.
    numbers = [x for p, w, d in instances for x in (*p, *w, *d)]
    lines = [" ".join(f"{x:5d}" for x in numbers[i : i + 7]) for i in range(0, len(numbers), 7)]
    path.write_text("\n".join(lines) + "\n")
    return path


ORLIB = [([3, 2, 4], [1, 2, 3], [4, 2, 6]), ([10, 20, 30], [5, 6, 7], [0, 15, 60])]


def test_orlibrary_loader_reads_times_weights_then_due_dates_with_n_from_the_name(tmp_path):
    instances = load_orlib(_write_orlib(tmp_path / "wt3.txt", ORLIB))
    assert [i.data for i in instances] == [{"p": p, "w": w, "d": d} for p, w, d in ORLIB]
    assert [i.id for i in instances] == ["wt3-001", "wt3-002"]
    assert all(i.group == "n3" and i.reference is None for i in instances)


def test_orlibrary_loader_attaches_a_reference_file_as_best_known(tmp_path):
    (tmp_path / "wtopt3.txt").write_text("10\n 250\n")
    instances = load_orlib(_write_orlib(tmp_path / "wt3.txt", ORLIB), reference_path=tmp_path / "wtopt3.txt")
    assert [(i.reference, i.reference_kind) for i in instances] == [(10, "best-known"), (250, "best-known")]


def test_orlibrary_loader_takes_an_explicit_job_count_when_the_name_has_none(tmp_path):
    path = _write_orlib(tmp_path / "weighted.txt", ORLIB)
    with pytest.raises(ProblemError, match="number of jobs"):
        load_orlib(path)
    assert len(load_orlib(path, n=3)) == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("1 2 3 4 5 6 7 8", "not a positive multiple of 3n"),
        ("", "not a positive multiple of 3n"),
        ("1 2 3 1 1 1 x 5 6", "'x' is not an integer"),
        ("1 -2 3 1 1 1 4 5 6", "instance 1 gives job 1 the processing time -2; the problem needs >= 1"),
        ("1 0 3 1 1 1 4 5 6", "job 1 the processing time 0; the problem needs >= 1"),
        ("1 2 3 1 0 1 4 5 6", "job 1 the weight 0; the problem needs >= 1"),
        ("1 2 3 1 1 1 0 5 6 " * 2 + "1 2 3 1 1 0 4 5 6", "instance 3 gives job 2 the weight 0"),
    ],
)
def test_orlibrary_loader_rejects_malformed_files_with_the_path_and_the_problem(tmp_path, text, message):
    path = tmp_path / "wt3.txt"
    path.write_text(text)
    with pytest.raises(ProblemError, match=message) as info:
        load_orlib(path)
    assert str(path) in str(info.value)


def test_orlibrary_loader_rejects_a_reference_file_of_the_wrong_length(tmp_path):
    (tmp_path / "ref.txt").write_text("1\n2\n3\n")
    with pytest.raises(ProblemError, match="3 reference values for 2 instances"):
        load_orlib(_write_orlib(tmp_path / "wt3.txt", ORLIB), reference_path=tmp_path / "ref.txt")


def test_problem_loads_an_orlibrary_file_with_its_sibling_optimum_file(tmp_path):
    (tmp_path / "wtopt3.txt").write_text("10\n250\n")
    instances = load("tardiness").load_instances(_write_orlib(tmp_path / "wt3.txt", ORLIB))
    assert [i.reference for i in instances] == [10, 250]


def test_problem_loads_an_orlibrary_file_without_a_reference(tmp_path):
    instances = load("tardiness").load_instances(_write_orlib(tmp_path / "wt3.txt", ORLIB))
    assert [i.reference for i in instances] == [None, None]


def test_problem_reports_a_missing_instance_file(tmp_path):
    with pytest.raises(ProblemError, match="no such instance file"):
        load("tardiness").load_instances(tmp_path / "wt40.txt")


def _write_smtt(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps({"source": "test", "records": records}))
    return path


def test_smtt_loader_gives_unit_weights_and_best_known_references(tmp_path):
    record = {"id": 7, "n": 3, "p": [3, 2, 4], "d": [4, 2, 6], "reference_total_tardiness": 4.0}
    [instance] = load_smtt_json(_write_smtt(tmp_path / "smtt_n3_1.json", [record]))
    assert instance.data == {"p": [3, 2, 4], "w": [1, 1, 1], "d": [4, 2, 6]}
    assert (instance.reference, instance.reference_kind, instance.group) == (4.0, "best-known", "n3")
    assert instance.id == "smtt_n3_1-7"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "cannot read JSON"),
        ('{"records": []}', "non-empty 'records'"),
        ("[1, 2]", "non-empty 'records'"),
        ('{"records": [{"n": 2, "p": [1], "d": [1, 2]}]}', "'p' must be a list of 2 integers"),
        ('{"records": [{"n": 2, "p": [1, 2.5], "d": [1, 2]}]}', "not an integer"),
        ('{"records": [{"p": [1], "d": [1]}]}', "no positive integer 'n'"),
    ],
)
def test_smtt_loader_rejects_malformed_files_with_the_path_and_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ProblemError, match=message) as info:
        load("tardiness").load_instances(path)
    assert str(path) in str(info.value)


def test_smtt_loader_reads_the_published_n20_set():
    path = SMTT_DIR / "smtt_n20_800.json"
    if not path.is_file():
        pytest.skip(f"public data set absent: {path} (see ../shared/data/README.md)")
    instances = load_smtt_json(path)
    assert len(instances) == 800
    assert all(len(i.data["p"]) == 20 and i.data["w"] == [1] * 20 for i in instances)
    assert len({i.id for i in instances}) == 800
