from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from evaluators.evaluator import EvaluationResult
from evolve.archive import Archive, NewProgram, sqlite_url


def new_program(code: str, parent: tuple[int, ...] = (), status: str = "ok") -> NewProgram:
    evaluations = [EvaluationResult("smoke", "ok", {"gap": 1.0}), EvaluationResult("train", status, {"gap": 2.0})]
    return NewProgram(code, f"hash-{code}", parent, 0, len(parent), "genetic", "a note", evaluations)


@pytest.fixture
def archive(tmp_path):
    archive = Archive(sqlite_url(tmp_path))
    yield archive
    archive.close()


def test_sqlite_archive_uses_write_ahead_logging(archive):
    with archive.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


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


def test_processes_opening_a_new_archive_at_once_do_not_trip_over_table_creation(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        assert pool.map(_open_archive, [str(tmp_path)] * 8) == [True] * 8


def _open_archive(folder: str) -> bool:
    archive = Archive(sqlite_url(folder))
    archive.close()
    return True
