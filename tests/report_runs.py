"""Runs for the report, compare, export and watch tests: small real runs made once per test session, and
synthetic archives with hostile text where a real run would not produce it."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from evaluators.evaluator import EvaluationResult
from evolve.archive.store import Archive, NewProgram, sqlite_url
from evolve.cli.main import main
from evolve.config import RunConfig

_RUNS: dict[int, tuple[Path, str]] = {}

HOSTILE_CODE = '''\
# EVOLVE-BLOCK-START
def schedule(p, w, d):
    """</script><script>window.__pwned = 1</script>"""
    note = "<img src=x onerror=\\"window.__pwned = 2\\">"  # </pre><b>INJECTED</b>
    return sorted(range(len(p)), key=lambda j: d[j])
# EVOLVE-BLOCK-END
'''
HOSTILE_FEEDBACK = "raised ValueError: </pre><b>INJECTED</b><script>window.__pwned = 3</script>"
HOSTILE_NOTE = 'an edit\nimport os; raise SystemExit("pwned")\r<iframe src="javascript:window.__pwned=4">'
SEED_CODE = """\
# EVOLVE-BLOCK-START
def schedule(p, w, d):
    return sorted(range(len(p)), key=lambda j: d[j])
# EVOLVE-BLOCK-END
"""


def real_run(tmp_path_factory, seed: int) -> tuple[Path, str]:
    """(run directory, what the run printed) of a 4-iteration tardiness run with ``--report-every 2``."""
    if seed not in _RUNS:
        run_dir = tmp_path_factory.mktemp(f"report-run-s{seed}") / "run"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            args = ["run", "tardiness", "--iterations", "4", "--seed", str(seed), "--workers", "2"]
            status = main([*args, "--report-every", "2", "--run-dir", str(run_dir)])
        assert status == 0, printed.getvalue()
        _RUNS[seed] = (run_dir, printed.getvalue())
    return _RUNS[seed]


def _evaluation(split: str, status: str = "ok", gap: float = 5.0, feedback: str = "fine") -> EvaluationResult:
    metrics = {"gap": gap, "time_ms": 0.5} if status == "ok" else {}
    groups = {"n20-TF0.2-RDD0.2": metrics} if status == "ok" else {}
    return EvaluationResult(split, status, metrics, groups, [], feedback, 0.01)


def synthetic_run(run_dir: Path, status: str = "finished") -> Path:
    """A tardiness run of three programs: a seed, a hostile but scoring child, and a failed one."""
    run_dir.mkdir(parents=True, exist_ok=True)
    archive = Archive(sqlite_url(run_dir))
    run_id = archive.create_run("tardiness", RunConfig(iterations=2).to_dict(), 0)
    seed = NewProgram(SEED_CODE, "h-seed", (), 0, 0, "seed", "initial program", [_evaluation("train", gap=8.0)])
    archive.commit_iteration(run_id, 0, [seed], 1)
    hostile = NewProgram(
        HOSTILE_CODE, "h-hostile", (1,), 0, 1, "llm", HOSTILE_NOTE, [_evaluation("train", gap=3.0)], "model<b>"
    )
    failed = NewProgram(
        SEED_CODE.replace("d[j]", "1 / 0"),
        "h-failed",
        (1,),
        0,
        1,
        "genetic",
        "divides",
        [_evaluation("smoke", "error", feedback=HOSTILE_FEEDBACK)],
    )
    archive.commit_iteration(run_id, 1, [hostile, failed], 2, wall_seconds=1.0)
    archive.add_evaluation(2, _evaluation("test", gap=4.0, feedback=HOSTILE_FEEDBACK))
    if status != "running":
        archive.finish_run(run_id, status, 1.5)
    archive.close()
    (run_dir / "run.toml").write_text(f'problem = "tardiness"\nrun_id = {run_id}\n')
    return run_dir
