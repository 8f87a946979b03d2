"""Instances of ``jobshop`` (problems/jobshop/instances.py): Taillard's generator, the splits, the two file
formats with their published references, and one clear line for every malformed file."""

from __future__ import annotations

import pytest

from problems.base import ProblemError
from problems.jobshop import instances
from problems.registry import load

# ta01's first two jobs in Taillard's tai15_15.txt (time seed 840612802, machine seed 398197754).
TA01_TIMES = [
    [94, 66, 10, 53, 26, 15, 65, 82, 10, 27, 93, 92, 96, 70, 83],
    [74, 31, 88, 51, 57, 78, 8, 7, 91, 79, 18, 51, 18, 99, 33],
]
TA01_MACHINES = [7, 13, 5, 8, 4, 3, 11, 12, 9, 15, 10, 14, 6, 1, 2]

TAILLARD = """\
Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound
           3           2           1           2          12          10
Times
  4  6
  5  1
  2  3
Machines
  1  2
  2  1
  1  2
Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound
           2           2           3           4           9           9
Times
  3  6
  5  2
Machines
  2  1
  1  2
"""


@pytest.fixture(scope="module")
def problem():
    return load("jobshop")


def test_the_generator_is_taillards_and_reproduces_ta01():
    jobs = instances.generate(15, 15, 840612802, 398197754)
    assert [[d for _, d in job] for job in jobs[:2]] == TA01_TIMES
    assert [m + 1 for m, _ in jobs[0]] == TA01_MACHINES
    for job in jobs:
        assert sorted(m for m, _ in job) == list(range(15)) and all(1 <= d <= 99 for _, d in job)


def test_splits_are_deterministic_disjoint_and_test_holds_sizes_beyond_train(problem):
    again = load("jobshop")
    seen = {}
    for split in ("smoke", "train", "test"):
        built = problem.instances(split)
        assert [i.data for i in built] == [i.data for i in again.instances(split)]
        for inst in built:
            key = repr(inst.data)
            assert key not in seen, f"{inst.id} repeats {seen.get(key)}"
            seen[key] = inst.id
            n, m = map(int, inst.group.split("x"))
            assert len(inst.data["jobs"]) == n and inst.data["machines"] == m
    size = lambda i: len(i.data["jobs"]) * i.data["machines"]  # noqa: E731
    largest_train = max(size(i) for i in problem.instances("train"))
    assert {i.group for i in problem.instances("test") if size(i) > largest_train} >= {"20x15", "30x20", "50x20"}
    assert {"6x6", "50x20"} <= {i.group for i in problem.instances("test")}


def test_splits_sharing_a_seed_are_refused(problem):
    from problems.jobshop.problem import _plans

    options = {"splits": {s: {"sizes": [[6, 6]], "count": 2, "base_seed": 10} for s in ("smoke", "train", "test")}}
    with pytest.raises(ProblemError, match="share seed"):
        _plans(options)


def test_orlib_files_load_with_banners_and_comments(ft06_file, ft10_file):
    [ft06] = instances.load(ft06_file)
    assert ft06.id == "ft06" and ft06.data["machines"] == 6 and ft06.reference is None
    assert ft06.data["jobs"][0] == [[2, 1], [0, 3], [1, 6], [3, 7], [5, 3], [4, 6]]
    [ft10] = instances.load(ft10_file)
    assert ft10.id == "ft10" and len(ft10.data["jobs"]) == 10
    assert sum(d for job in ft10.data["jobs"] for _, d in job) == 5109


def test_a_sidecar_gives_the_published_optimum_or_bounds(ft06_file, tmp_path, problem):
    (tmp_path / "ft06.txt.ref").write_text("# Fisher & Thompson 1963\nft06 optimum 55\n")
    [ft06] = problem.load_instances(ft06_file)
    assert (ft06.reference, ft06.reference_kind) == (55.0, "optimum")
    assert problem.bound(ft06).value == 55.0 and problem.bound(ft06).source == "file"
    (tmp_path / "ft06.txt.ref").write_text("ft06 bound 50 60\n")
    [ft06] = instances.load(ft06_file)
    assert (ft06.reference, ft06.reference_kind) == (50.0, "bound")


def test_taillard_files_hold_several_instances_with_their_bounds(tmp_path):
    path = tmp_path / "tai3_2.txt"
    path.write_text(TAILLARD)
    first, second = instances.load(path)
    assert first.data == {"jobs": [[[0, 4], [1, 6]], [[1, 5], [0, 1]], [[0, 2], [1, 3]]], "machines": 2}
    assert (first.reference, first.reference_kind) == (10.0, "bound")
    assert (second.reference, second.reference_kind) == (9.0, "optimum")
    assert (first.id, second.id, first.group) == ("tai3_2-1", "tai3_2-2", "3x2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2 2\n0 3 1 4\n1 2 0 x\n", r":3: expected whole numbers, found 'x'"),
        ("2 2\n0 3 1 4\n1 0 0 5\n", r":3: job 1: duration 0 on machine 1 must be positive"),
        ("2 2\n0 3 1 -4\n1 2 0 5\n", r":2: job 0: duration -4 on machine 1 must be positive"),
        ("2 2\n0 3 2 4\n1 2 0 5\n", r":2: job 0: machine 2 is outside 0..1"),
        ("2 2\n0 3 0 4\n1 2 0 5\n", r":2: job 0: machine 0 appears twice"),
        ("2 2\n0 3 1 4 5\n1 2 0 5\n", r":2: job 0: expected 2 machine-duration pairs, got 2.5"),
        ("3 2\n0 3 1 4\n1 2 0 5\n", r":1: the header announces 3 jobs, the file ends after 2"),
        ("2 2 7\n0 3 1 4\n", r":1: expected the header 'jobs machines', found 3 numbers"),
        ("just words\n", r"no instance found"),
    ],
)
def test_a_malformed_orlib_file_is_one_line_naming_file_line_and_fault(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ProblemError, match=message) as caught:
        instances.load(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  5  1\n", "  5  0\n", r":5: job 1: duration 0 must be positive"),
        ("  2  3\nMachines", "  2 -3\nMachines", r":6: job 2: duration -3 must be positive"),
        (
            "Machines\n  1  2\n  2  1",
            "Machines\n  1  2\n  0  1",
            r":9: job 1: machine 0 is outside 1..2 \(1-based here\)",
        ),
        ("Times\n  4  6", "Tims\n  4  6", r":3: expected the line 'Times'"),
        ("  1  2\n  2  1\n  1  2\nNb", "  1  2\n  2  1\nNb", r":10: the machines block ends after 2 of 3 rows"),
    ],
)
def test_a_malformed_taillard_file_is_one_line_naming_file_line_and_fault(tmp_path, old, new, message):
    path = tmp_path / "tai.txt"
    assert old in TAILLARD
    path.write_text(TAILLARD.replace(old, new, 1))
    with pytest.raises(ProblemError, match=message) as caught:
        instances.load(path)
    assert "\n" not in str(caught.value)


def test_a_malformed_sidecar_names_its_line(ft06_file, tmp_path):
    (tmp_path / "ft06.txt.ref").write_text("ft06 optimum 55\nft06 best 50\n")
    with pytest.raises(ProblemError, match=r"ft06.txt.ref:2: expected 'NAME optimum VALUE'"):
        instances.load(ft06_file)
