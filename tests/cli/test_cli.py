"""The `adrs` command line, end to end, as a researcher uses it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from processes import alive, descendants_of
from sqlalchemy import select

from evolve.archive.models import Evaluation, Program, Run
from evolve.archive.store import Archive, sqlite_url
from evolve.cli.main import main


def adrs(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], capture_output=True, text=True, **kwargs)


def test_a_short_run_finds_a_program_better_than_the_seed_on_train_and_on_test(tmp_path, capsys):
    assert main(["run", "tardiness", "--iterations", "8", "--seed", "1", "--run-dir", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    assert "Frontier on train" in printed and "gap[%] test" in printed
    assert "for comparison, the seed program:\n1 " in printed
    assert f"adrs report {tmp_path / 'r'}" in printed, "the end names the report command"
    # The verdict: one line per selected objective against the best baseline, scored and cached for the report.
    verdict = printed.split("verdict against the best baseline", 1)[1].splitlines()[1:3]
    assert [line.split(":")[0].strip() for line in verdict] == ["gap", "time_ms"]
    assert all(" beats the best baseline (" in line or " does not beat " in line for line in verdict)
    assert "wmdd" in verdict[0] and (tmp_path / "r" / "baselines.json").is_file()
    archive = Archive(sqlite_url(tmp_path / "r"))
    programs = archive.programs(1)
    seed = next(p for p in programs if p.mutator == "seed")
    better = [
        p
        for p in programs
        if p.metrics("test")
        and p.metrics("train")["gap"] < seed.metrics("train")["gap"]
        and p.metrics("test")["gap"] < seed.metrics("test")["gap"]
    ]
    assert better, "no frontier program beats the seed on both train and test"


def test_frontier_and_show_read_a_finished_run(tmp_path, capsys):
    run_dir = tmp_path / "r"
    main(["run", "tardiness", "--iterations", "2", "--run-dir", str(run_dir)])
    capsys.readouterr()
    assert main(["frontier", str(run_dir)]) == 0
    assert "gap[%] train" in capsys.readouterr().out
    child = max(p.id for p in Archive(sqlite_url(run_dir)).programs(1))
    assert main(["show", str(run_dir), str(child)]) == 0
    shown = capsys.readouterr().out
    assert "--- diff to parent" in shown and "lineage:" in shown
    assert shown.split("lineage:")[1].split("\n")[0].rstrip().endswith(("(seed)", "(baseline)"))


def test_user_errors_are_one_line_with_a_hint_and_no_traceback(tmp_path):
    for args in (
        ["run", "no-such-problem"],
        ["frontier", str(tmp_path)],
        ["eval", "tardiness", "missing.py"],
        ["run", "tardiness", "--iterations", "0", "--run-dir", str(tmp_path / "x")],
        ["run", "tardiness", "--objectives", "gap,speed", "--run-dir", str(tmp_path / "y")],
    ):
        result = adrs(*args)
        assert result.returncode == 2, args
        assert result.stderr.startswith("adrs: error:") and "hint:" in result.stderr
        assert "Traceback" not in result.stderr


def test_eval_scores_a_heuristic_file_and_bench_lists_every_baseline(tmp_path):
    seeds = Path(__file__).resolve().parents[2] / "seeds" / "tardiness"
    result = adrs("eval", "tardiness", str(seeds / "atc.py"), "--split", "train")
    assert result.returncode == 0, result.stderr
    assert "gap" in result.stdout and "n20-" in result.stdout
    bench = adrs("bench", "tardiness", "--split", "train")
    assert bench.returncode == 0, bench.stderr
    for name in ("edd", "wspt", "wmdd", "atc", "seed"):
        assert f"\n{name} " in bench.stdout
    # Progress as each program is judged, on stderr so that the tables stay alone on stdout.
    progress = [line.split(":")[0] for line in bench.stderr.splitlines() if line.endswith(" s)")]
    assert progress == ["edd", "wspt", "wmdd", "atc", "seed"], bench.stderr
    assert ": ok (" not in bench.stdout


def start_run_and_wait(run_dir: Path, iteration: int) -> tuple[subprocess.Popen, Archive]:
    process = subprocess.Popen(
        [sys.executable, "-m", "evolve.cli", "run", "tardiness", "--iterations", "200", "--run-dir", str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    archive = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        if (run_dir / "run.toml").exists():  # written once the run's row is committed
            archive = archive or Archive(sqlite_url(run_dir))
            if archive.run(1).iteration >= iteration:
                return process, archive
    process.kill()
    raise AssertionError(f"the run did not reach iteration {iteration}: {process.communicate()[1]}")


def test_ctrl_c_stops_a_run_cleanly_after_the_current_iteration(tmp_path):
    process, archive = start_run_and_wait(tmp_path / "r", 2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "run stopped: interrupted" in out and "Frontier on train" in out
    assert "verdict skipped (interrupted)" in out and not (tmp_path / "r" / "baselines.json").exists()
    run = archive.run(1)
    assert run.status == "stopped" and 2 <= run.iteration < 200


def test_resume_removes_the_stop_file_that_ended_the_last_session_and_says_so(tmp_path, capsys):
    run_dir = tmp_path / "r"
    (run_dir).mkdir()
    (run_dir / "STOP").write_text("")
    assert main(["run", "tardiness", "--iterations", "3", "--run-dir", str(run_dir)]) == 0
    assert "run stopped: stop file" in capsys.readouterr().out
    assert main(["resume", str(run_dir), "--iterations", "2"]) == 0
    printed = capsys.readouterr().out
    assert f"removed {run_dir / 'STOP'}, left by the stop that ended the run's last session" in printed
    assert not (run_dir / "STOP").exists() and Archive(sqlite_url(run_dir)).run(1).iteration == 2


def test_a_run_killed_with_sigkill_resumes_with_nothing_lost_and_nothing_added_twice(tmp_path):
    run_dir = tmp_path / "r"
    process, archive = start_run_and_wait(run_dir, 3)
    time.sleep(0.3)  # land somewhere inside a later iteration
    sandboxes = descendants_of(process.pid)
    assert len(sandboxes) >= 4, "the run should have sandbox servers and their candidate processes"
    process.send_signal(signal.SIGKILL)  # only adrs itself: its sandboxes must die with it
    process.communicate()
    deadline = time.monotonic() + 10  # the kernel tears the namespaces down asynchronously
    while any(alive(pid) for pid in sandboxes) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in sandboxes if alive(pid)] == [], "a sandbox process outlived the killed run"

    before = {p.id: p for p in archive.programs(1)}
    killed_at = archive.run(1).iteration
    resumed = adrs("resume", str(run_dir), "--iterations", str(killed_at + 3))
    assert resumed.returncode == 0, resumed.stderr
    after = {p.id: p for p in archive.programs(1)}

    assert archive.run(1).iteration == killed_at + 3
    assert min(set(after) - set(before)) > max(before), "program ids must continue"
    for program_id, program in before.items():  # nothing lost
        assert after[program_id].evaluations.keys() >= program.evaluations.keys()
    with archive._session() as session:
        hashes = Counter(session.scalars(select(Program.code_hash)))
        assert max(hashes.values()) == 1, "a code hash was stored twice"
        orphans = session.scalars(select(Program.id).where(~Program.evaluations.any())).all()
        assert orphans == [], "every program keeps its evaluations"
        assert session.scalar(select(Run.status)) == "finished"
        assert session.scalar(select(Evaluation.id).where(Evaluation.split == "train")) is not None


def test_without_bubblewrap_adrs_refuses_to_run_candidates_unless_told_to(monkeypatch, capsys):
    import evaluators.isolation

    monkeypatch.setattr(evaluators.isolation, "bwrap_binary", lambda: None)
    seeds = Path(__file__).resolve().parents[2] / "seeds" / "tardiness"
    assert main(["eval", "tardiness", str(seeds / "edd.py"), "--split", "smoke"]) == 2
    assert "--unsafe-no-sandbox" in capsys.readouterr().err
    assert main(["eval", "tardiness", str(seeds / "edd.py"), "--split", "smoke", "--unsafe-no-sandbox"]) == 0
    assert "without namespaces" in capsys.readouterr().err


def test_eval_scores_a_file_on_instances_from_an_or_library_file(tmp_path):
    numbers = [3, 1, 2, 1, 1, 1, 2, 1, 6] + [5, 4, 1, 2, 3, 1, 0, 9, 3]  # two 3-job instances: p, w, d each
    (tmp_path / "wt3.txt").write_text(" ".join(map(str, numbers)))
    seeds = Path(__file__).resolve().parents[2] / "seeds" / "tardiness"
    result = adrs("eval", "tardiness", str(seeds / "wspt.py"), "--instances", str(tmp_path / "wt3.txt"))
    assert result.returncode == 0, result.stderr
    assert "2 file instances; references: 2 optimal" in result.stdout
    assert "gap" in result.stdout
