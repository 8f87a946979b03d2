"""The archive, on SQLite always and on PostgreSQL where a server can be started (see tests/postgres.py)."""

from __future__ import annotations

import math
import multiprocessing
import sys

import pytest
from archive_processes import ITERATIONS, new_program, open_archive, write_run
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from evaluators.evaluator import EvaluationResult
from evolve.archive.models import Evaluation, Program
from evolve.archive.store import Archive, ArchiveUnavailable, NewProgram, sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """The URL of a new, empty archive on each backend."""
    return sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture
def archive(url):
    archive = Archive(url)
    yield archive
    archive.close()


def test_sqlite_archive_uses_write_ahead_logging(tmp_path):
    archive = Archive(sqlite_url(tmp_path))
    with archive.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    archive.close()


def test_a_bare_postgresql_url_uses_psycopg_3(postgres_url):
    assert postgres_url.startswith("postgresql://")
    archive = Archive(postgres_url)
    assert archive.engine.dialect.driver == "psycopg"
    assert archive.create_run("tardiness", {}, 0) == 1
    archive.close()


def test_a_missing_driver_names_the_extra_to_install_and_hides_the_password(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the postgres extra were not installed
    with pytest.raises(ArchiveUnavailable, match=r"pip install 'adrs\[postgres\]'") as raised:
        Archive("postgresql://adrs:secret@127.0.0.1:1/archive")
    assert "secret" not in str(raised.value)


def test_commit_iteration_stores_programs_with_their_evaluations_and_progress(archive):
    run_id = archive.create_run("tardiness", {"seed": 1}, 1)
    ids = archive.commit_iteration(run_id, 3, [new_program("a"), new_program("b", (1,))], evaluations_spent=4)
    assert ids == [1, 2]
    programs = archive.programs(run_id)
    assert [p.code for p in programs] == ["a", "b"]
    assert programs[1].parent_ids == (1,) and programs[1].iteration == 3
    assert programs[0].metrics("train") == {"gap": 2.0}
    run = archive.run(run_id)
    assert (run.iteration, run.evaluations) == (3, 4)


def test_a_code_hash_is_never_stored_twice_in_a_run(archive):
    run_id = archive.create_run("tardiness", {}, 0)
    archive.commit_iteration(run_id, 1, [new_program("a")], 2)
    assert archive.commit_iteration(run_id, 2, [new_program("a"), new_program("c")], 2) == [None, 2]
    other_run = archive.create_run("tardiness", {}, 0)
    assert archive.commit_iteration(other_run, 1, [new_program("a")], 2) == [3]


def test_failed_programs_have_no_metrics_but_keep_their_status(archive):
    run_id = archive.create_run("tardiness", {}, 0)
    archive.commit_iteration(run_id, 1, [new_program("x", status="infeasible")], 2)
    [program] = archive.programs(run_id)
    assert program.metrics("train") is None and program.status == "infeasible"


def test_test_split_evaluation_is_added_once(archive):
    run_id = archive.create_run("tardiness", {}, 0)
    [program_id] = archive.commit_iteration(run_id, 1, [new_program("a")], 2)
    assert archive.add_evaluation(program_id, EvaluationResult("test", "ok", {"gap": 3.0}))
    assert not archive.add_evaluation(program_id, EvaluationResult("test", "ok", {"gap": 4.0}))
    assert archive.program(run_id, program_id).metrics("test") == {"gap": 3.0}


def test_a_failed_transaction_leaves_nothing_half_written(archive):
    run_id = archive.create_run("tardiness", {}, 0)
    archive.commit_iteration(run_id, 1, [new_program("a")], 2)
    broken = new_program("b")
    broken.evaluations.append(EvaluationResult("train", "ok", {"gap": 1.0}))  # same split twice: rejected
    with pytest.raises(IntegrityError):
        archive.commit_iteration(run_id, 2, [new_program("c"), broken], 2)
    assert [p.code for p in archive.programs(run_id)] == ["a"]
    assert archive.run(run_id).iteration == 1


def test_migrations_are_kept_in_order(archive):
    run_id = archive.create_run("tardiness", {}, 0)
    archive.commit_iteration(run_id, 1, [new_program("a"), new_program("b")], 2)
    archive.commit_iteration(run_id, 5, [], 0, migrations=[(2, 1), (1, 0)])
    assert archive.migrations(run_id) == [(2, 1), (1, 0)]


def test_nul_characters_and_non_finite_numbers_from_a_candidate_are_stored(archive):
    evaluation = EvaluationResult(
        "train", "error", {"gap": math.nan, "time_ms": math.inf}, per_instance=[{"seconds": -math.inf}],
        feedback="it printed \x00 there",
    )  # fmt: skip
    run_id = archive.create_run("tardiness", {}, 0)
    archive.commit_iteration(run_id, 1, [NewProgram("x = 1", "h", (), 0, 0, "llm", "", [evaluation])], 1)
    [stored] = archive.programs(run_id)[0].evaluations.values()
    assert math.isnan(stored.metrics["gap"]) and stored.metrics["time_ms"] == math.inf
    assert stored.per_instance == [{"seconds": -math.inf}]
    assert stored.feedback in ("it printed \x00 there", "it printed \ufffd there")  # PostgreSQL takes no NUL


def test_processes_opening_a_new_archive_at_once_do_not_trip_over_table_creation(url):
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        assert pool.map(open_archive, [url] * 8) == [True] * 8


def test_two_runs_writing_to_one_database_at_once_keep_to_their_own_rows(url):
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    writers = [context.Process(target=write_run, args=(url, name, start, results)) for name in ("left", "right")]
    for writer in writers:
        writer.start()
    outcomes = [results.get(timeout=120) for _ in writers]
    for writer in writers:
        writer.join()
    assert [error for _, _, error in outcomes if isinstance(error, str)] == []
    archive = Archive(url)
    for name, run_id, returned in outcomes:
        programs = archive.programs(run_id)
        expected = [f"{name}-{i}-{k}" for i in range(1, ITERATIONS + 1) for k in range(3)] + [
            f"both-{i}" for i in range(1, ITERATIONS + 1)
        ]
        assert sorted(p.code for p in programs) == sorted(expected)
        assert [p.iteration for p in programs] == [i for i in range(1, ITERATIONS + 1) for _ in range(4)]
        assert [(p.run_id, sorted(p.evaluations)) for p in programs] == [(run_id, ["smoke", "train"])] * len(programs)
        # Each commit returned the ids of its 4 new programs, in order, and None for the repeated hash.
        assert returned == [[p.id for p in programs[4 * i : 4 * i + 4]] + [None] for i in range(ITERATIONS)]
        assert [c.program_id for c in archive.llm_calls(run_id)] == [ids[0] for ids in returned[1:]]
        run = archive.run(run_id)
        assert (run.iteration, run.evaluations, run.tokens, run.dollars) == (ITERATIONS, 2 * ITERATIONS, 203, 7.25)
    with archive.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Program)) == 2 * 4 * ITERATIONS
        assert connection.scalar(select(func.count()).select_from(Evaluation)) == 2 * 2 * 4 * ITERATIONS
    archive.close()
