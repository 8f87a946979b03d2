"""Hints name things that exist: the formats a problem reads, and what to do about a file it cannot."""

from __future__ import annotations

from pathlib import Path

from evolve.cli.main import main

SEED = str(Path(__file__).resolve().parents[2] / "seeds" / "tardiness" / "seed.py")


def test_an_unreadable_instance_file_names_the_fix_and_the_formats_the_problem_reads(tmp_path, capsys):
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("1 2 3 1 1 1 4 5 6")
    assert main(["eval", "tardiness", SEED, "--instances", str(jobs)]) == 2
    err = capsys.readouterr().err
    assert "name it as OR-Library does, with the job count as its only number (wt40.txt, wt100.txt)" in err
    assert "hint: tardiness reads: Instances of an OR-Library weighted tardiness file named with its job count" in err
    assert "README" not in err and "explicitly" not in err


def test_every_problem_describes_the_files_it_reads(capsys, tmp_path):
    for problem in ("tardiness", "spot", "serving", "moe", "podpack", "jobshop"):
        assert main(["eval", problem, SEED, "--instances", str(tmp_path / "missing.bin")]) == 2
        hint = capsys.readouterr().err.split("hint: ", 1)[1]
        assert hint.startswith(f"{problem} reads: ") and len(hint.split()) > 6, hint
