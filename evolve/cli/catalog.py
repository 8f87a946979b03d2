"""The problems on offer, from the command line: ``adrs problems`` lists them, ``adrs new-problem`` adds one."""

from __future__ import annotations

import argparse
from pathlib import Path

from evolve.wiring import UserError, load_problem
from problems import registry, scaffold
from problems.base import ProblemError


def cmd_problems(args: argparse.Namespace) -> int:
    try:
        found = registry.sources([args.problems_dir] if args.problems_dir else [])
    except ProblemError as exc:
        raise UserError(str(exc), "fix or remove the problem named, or pass another --problems-dir") from None
    for name, source in found.items():
        try:
            spec = load_problem(name, args.problems_dir or "").spec
        except UserError as exc:  # one broken problem of the user's hides none of the others
            print(f"{name}: cannot be loaded: {exc}\n    from: {source.describe()}")
            continue
        objectives = ", ".join(f"{o.name} ({o.direction}, {o.unit})" for o in spec.objectives)
        where = "" if source.origin == "shipped" else f"\n    from: {source.describe()}"
        print(f"{name}: {spec.description.split('. ')[0]}.\n    objectives: {objectives}{where}")
    return 0


def cmd_new_problem(args: argparse.Namespace) -> int:
    try:
        folder = scaffold.write_problem(args.name, args.dir)
    except ProblemError as exc:
        raise UserError(str(exc), "adrs new-problem NAME [--dir PATH]") from None
    print(f"wrote the problem {args.name} into {folder} (a 0/1 knapsack to reshape; see its README.md)")
    print(f"try: adrs bench {folder} --split train   then: adrs run {folder} --iterations 5")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the commands of this module to the ``adrs`` parser; returns ``problems``'s, which takes the
    ``--problems-dir`` option that ``main`` gives every command naming problems."""
    listing = commands.add_parser("problems", help="list the problems")
    listing.set_defaults(handler=cmd_problems)
    scaffold_ = commands.add_parser("new-problem", help="write a new, working problem folder to reshape")
    scaffold_.add_argument("name", help="the problem's name: a lowercase Python identifier")
    scaffold_.add_argument("--dir", type=Path, default=Path("."), help="where its folder goes (default: here)")
    scaffold_.set_defaults(handler=cmd_new_problem)
    return listing
