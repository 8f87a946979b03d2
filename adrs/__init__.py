"""adrs from Python: start or resume a run with the options of ``adrs run``, then read it (``evolve.api.Run``).

    import adrs

    run = adrs.run("tardiness", iterations=20, seed=1, run_dir="runs/t1")   # as `adrs run tardiness ...`
    frame = pandas.DataFrame(run.rows())           # one row per program, SPLIT.METRIC columns
    best = run.best("gap")
    run = adrs.resume("runs/t1", iterations=40)    # as `adrs resume runs/t1 --iterations 40`
    result = adrs.evaluate_file("tardiness", "my_heuristic.py", split="test")

Options are the command's flags with underscores (``max_usd=2``, ``api_base=...``, ``model=["openai/a", ...]``
for a repeatable one, ``unsafe_no_sandbox=True`` for a switch). A mistake raises ``UserError`` with a hint, as
the command would print it, and leaves nothing behind; the run's own progress prints as the command's does.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evolve.api import Run, UserError, evaluate_file, open_run
from evolve.cli.main import build_parser

__all__ = ["Run", "UserError", "evaluate_file", "open_run", "resume", "run"]


def run(problem: str | None = None, **options: Any) -> Run:
    """Start a run, as ``adrs run PROBLEM`` with ``options`` as its flags, and return it once it ended.

    Raises:
        UserError: an unknown option, a value of the wrong type, or anything ``adrs run`` would refuse.
    """
    args = _parse("run", [problem] if problem is not None else [], options)
    args.handler(args)
    return open_run(args.run_dir, options.get("db"))


def resume(run_dir: Path | str, **options: Any) -> Run:
    """Go on with a run, as ``adrs resume RUN_DIR`` with ``options`` as its flags (``iterations`` above all)."""
    args = _parse("resume", [str(run_dir)], options)
    args.handler(args)
    return open_run(run_dir, options.get("db"))


def _parse(command: str, positional: list[str], options: dict[str, Any]) -> argparse.Namespace:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = {
        action.dest: action
        for action in commands.choices[command]._actions
        if action.option_strings and action.dest != "help"
    }
    argv = [command, *positional]
    for name, value in options.items():
        action = flags.get(name)
        if action is None:
            known = ", ".join(sorted(flags))
            raise UserError(f"adrs.{command}() has no option {name!r}", f"its options: {known}")
        flag = action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction):
            argv += [flag] if value else []
        elif isinstance(action, argparse._AppendAction):
            for item in [value] if isinstance(value, str) else value:
                argv += [flag, str(item)]
        elif value is not None:
            argv += [flag, str(value)]
    try:
        return parser.parse_args(argv)
    except SystemExit:  # argparse has printed why (a value of the wrong type)
        raise UserError(f"adrs.{command}(): invalid options {options}", f"see `adrs {command} --help`") from None
