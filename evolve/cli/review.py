"""Reading runs from the command line: ``adrs report``, ``adrs watch``, ``adrs compare`` and ``adrs export``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evolve import api
from evolve.wiring import UserError


def cmd_report(args: argparse.Namespace) -> int:
    from evolve.review.report import page as report  # deferred: plotly is only needed here
    from evolve.review.report import yardsticks

    run = api.open_run(args.run_dir, args.db)
    if args.output is not None and args.output.is_dir():
        raise UserError(f"{args.output} is a folder", "pass the path of the HTML file to write, e.g. -o report.html")
    if not args.no_baselines and not yardsticks.cached(run.directory):
        print("scoring the problem's baselines on the run's train and test instances (once per run)", flush=True)
    written = report.write_report(run, args.output, baselines=not args.no_baselines)
    print(
        f"wrote {written.path}: {written.programs} programs, {written.bytes / 1e6:.1f} MB, "
        f"in {written.seconds:.1f} s (open it in any browser; it needs no network)"
    )
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from evolve.review import watch

    if args.every <= 0:
        raise UserError(f"--every must be positive, got {args.every}", "seconds between refreshes, e.g. --every 5")
    return watch.watch(api.open_run(args.run_dir, args.db), args.every, args.once, args.failures, sys.stdout)


def cmd_compare(args: argparse.Namespace) -> int:
    from evolve.review import compare

    runs = [api.open_run(path) for path in args.run_dirs]
    print(compare.render(compare.compare(runs), args.format))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from evolve.review import export

    run = api.open_run(args.run_dir, args.db)
    if args.format == "py":
        if args.id is None:
            raise UserError("which program?", f"adrs export {args.run_dir} ID (see `adrs frontier {args.run_dir}`)")
        text = export.module_text(run, run.program(args.id))
    else:
        text = export.table_text(run, export.chosen(run, args.id, args.frontier), args.format)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the commands of this module to the ``adrs`` parser."""
    report = commands.add_parser("report", help="write a run's self-contained HTML report")
    report.add_argument("run_dir", type=Path)
    report.add_argument("-o", "--output", type=Path, help="the HTML file (default: RUN_DIR/report.html)")
    report.add_argument(
        "--no-baselines", action="store_true", help="do not score the problem's baselines (use the cached ones)"
    )
    report.set_defaults(handler=cmd_report)

    watch = commands.add_parser("watch", help="a refreshing terminal summary of a run")
    watch.add_argument("run_dir", type=Path)
    watch.add_argument("--every", type=float, default=5.0, help="seconds between refreshes (default 5)")
    watch.add_argument("--once", action="store_true", help="print the summary once and exit")
    watch.add_argument("--failures", type=int, default=5, help="how many of the last failures to show")
    watch.set_defaults(handler=cmd_watch)

    compare = commands.add_parser("compare", help="tabulate runs of one problem: best per objective, cost to reach it")
    compare.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    compare.add_argument("--format", choices=("table", "json", "csv"), default="table")
    compare.set_defaults(handler=cmd_compare)

    export = commands.add_parser("export", help="a program as a standalone module, or runs' programs as a table")
    export.add_argument("run_dir", type=Path)
    export.add_argument("id", type=int, nargs="?", help="the program (for a table: its lineage)")
    export.add_argument("--format", choices=("py", "json", "csv"), default="py")
    export.add_argument("--frontier", action="store_true", help="for a table: the frontier only")
    export.add_argument("-o", "--output", type=Path, help="the file to write (default: standard output)")
    export.set_defaults(handler=cmd_export)

    for parser in (report, watch, export):
        parser.add_argument("--db", help="the archive's URL, when not the one recorded in RUN_DIR")
