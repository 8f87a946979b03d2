"""The Python API for notebooks: open a run, read its frontier and programs, write its report, score a file.

    from evolve import api

    run = api.open_run("runs/tardiness-20261122-101500-s0")
    for program in run.frontier():
        print(program.id, program.mutator, program.metrics("train"), program.metrics("test"))
    best = run.best("gap")                       # the best program on train by one objective
    print(run.lineage(best.id))                  # main parents back to the seed
    run.report("report.html")                    # the HTML report (docs/report.md)
    result = api.evaluate_file("tardiness", "my_heuristic.py", split="test")
    print(result.status, result.metrics)

Records are plain frozen dataclasses (``evolve.archive.store.ProgramRecord``, ``EvaluationRecord``, ``RunRecord``).
Mistakes (a folder that holds no run, an unknown id) raise ``UserError`` with a message and a hint.
See docs/notebook.py for a longer, runnable example.
"""

from __future__ import annotations

from pathlib import Path

from evaluators.evaluator import EvaluationResult
from evolve.review.run_view import RunView, open_view
from evolve.wiring import UserError, load_problem, make_evaluator
from problems.base import Problem

__all__ = ["Run", "UserError", "evaluate_file", "open_run"]


class Run(RunView):
    """A run as a notebook sees it: everything ``RunView`` reads, plus its report and exported programs."""

    def report(self, path: Path | str | None = None, baselines: bool = True) -> Path:
        """Write the HTML report (default ``DIRECTORY/report.html``) and return its path.

        With ``baselines`` the problem's baselines are scored once (in the sandbox) and cached in the run
        directory, so that they can be marked on the frontier.
        """
        from evolve.review.report import page as report  # deferred: the plotting library is only needed here

        return report.write_report(self, Path(path) if path else None, baselines=baselines).path

    def export(self, program_id: int, path: Path | str | None = None) -> str:
        """The program as a standalone module with a header (problem, metrics, lineage, run); written to
        ``path`` when one is given."""
        from evolve.review import export

        text = export.module_text(self, self.program(program_id))
        if path is not None:
            Path(path).write_text(text)
        return text


def open_run(run_dir: Path | str, db: str | None = None) -> Run:
    """Open the run that ``adrs run`` wrote into ``run_dir`` (``db``: the archive's URL when it is not the one
    recorded in ``run.toml``). Raises ``UserError`` when the folder holds no run or its archive cannot be opened."""
    return open_view(run_dir, db, Run)


def evaluate_file(
    problem: str | Problem,
    path: Path | str,
    split: str = "test",
    workers: int = 0,
    unsafe_no_sandbox: bool = False,
) -> EvaluationResult:
    """Score a heuristic file on a problem's split in the sandbox, as ``adrs eval PROBLEM FILE`` does.

    Args:
        problem: a problem name (``adrs problems`` lists them) or a loaded problem.
        path: a Python file defining the problem's entry point.
        split: ``smoke``, ``train`` or ``test``.
        workers: sandboxes to start (0: one per core).
        unsafe_no_sandbox: run without namespaces, where bubblewrap cannot work.

    Returns:
        The evaluation: ``status``, ``metrics``, per-class ``groups``, ``per_instance`` and ``feedback``.
    """
    loaded = load_problem(problem) if isinstance(problem, str) else problem
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no such file: {path}", "pass the path of a Python file defining the entry point")
    evaluator = make_evaluator(loaded, workers, unsafe_no_sandbox)
    try:
        return evaluator.evaluate(path.read_text(), split)
    finally:
        evaluator.pool.close()
