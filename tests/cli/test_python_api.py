"""`adrs.run` and `adrs.resume`: a run started from Python with the command's options, read as rows."""

from __future__ import annotations

import pytest

import adrs


def test_a_run_started_from_python_is_the_commands_run_and_its_rows_are_flat(tmp_path):
    folder = tmp_path / "r"
    run = adrs.run("tardiness", iterations=3, seed=2, workers=1, run_dir=folder)
    assert isinstance(run, adrs.Run) and run.directory == folder and run.record.iteration == 3
    assert run.config.seed == 2 and run.config.workers == 1
    rows = run.rows()
    programs = run.programs()
    assert [row["id"] for row in rows] == [p.id for p in programs]
    assert {row["id"] for row in rows if row["frontier"]} == {p.id for p in run.frontier()}
    seed = next(row for row in rows if row["mutator"] == "seed")
    assert seed["parent"] is None and seed["status"] == "ok" and isinstance(seed["train.gap"], float)
    child = next(row for row in rows if row["parent"] is not None)
    assert child["iteration"] >= 1 and all(not isinstance(value, (dict, list)) for value in child.values())
    resumed = adrs.resume(folder, iterations=4)
    assert resumed.record.iteration == 4 and len(resumed.rows()) >= len(rows)


@pytest.mark.parametrize(
    "options, message",
    [({"no_such_option": 1}, "has no option 'no_such_option'"), ({"iterations": "many"}, "invalid options")],
)
def test_a_wrong_option_is_a_user_error_and_leaves_nothing(tmp_path, options, message):
    with pytest.raises(adrs.UserError, match=message) as failure:
        adrs.run("tardiness", run_dir=tmp_path / "r", **options)
    assert failure.value.hint and not (tmp_path / "r").exists()


def test_what_the_command_refuses_python_gets_as_a_user_error(tmp_path):
    with pytest.raises(adrs.UserError, match="unknown problem .no-such-problem."):
        adrs.run("no-such-problem", run_dir=tmp_path / "r")
