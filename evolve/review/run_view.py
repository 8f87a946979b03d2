"""One run read from its archive: record, configuration, problem, programs, frontier, lineage, model calls.

Everything that reviews a run (the report, ``adrs watch``, ``compare``, ``export``) reads it through a
``RunView``; the notebook API (``evolve/api.py``) adds writing the report and exporting a program.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from evolve.archive.models import LLMCall
from evolve.archive.store import Archive, ProgramRecord, ProgressRecord, RunRecord, sqlite_url
from evolve.config import ConfigError, RunConfig
from evolve.review import display
from evolve.search.frontier import frontier_of
from evolve.wiring import RUN_FILE, UserError, load_problem
from problems.base import Objective, Problem


@dataclass
class RunView:
    """One run of an archive, read on demand: every call sees what the run has committed so far.

    Attributes:
        directory: the run directory (``run.toml``, the SQLite archive, ``report.html``).
        archive: the archive holding the run.
        run_id: the run's id in that archive.
    """

    directory: Path
    archive: Archive
    run_id: int
    _problem: Problem | None = field(default=None, init=False, repr=False)

    @property
    def record(self) -> RunRecord:
        """The run's row: problem, configuration, status, iteration, evaluations, wall time and spend."""
        return self.archive.run(self.run_id)

    @property
    def config(self) -> RunConfig:
        """The run's configuration, as recorded when it started."""
        try:
            return RunConfig.from_dict(self.record.config)
        except ConfigError as exc:
            raise UserError(f"the recorded configuration of {self.directory} is unreadable: {exc}") from None

    @property
    def problem(self) -> Problem:
        """The run's problem (loaded once)."""
        if self._problem is None:
            self._problem = load_problem(self.record.problem, self.config.problems_dir)
            self._problem.select_objectives([o.name for o in self.objectives])
        return self._problem

    @property
    def objectives(self) -> list[Objective]:
        """The objectives the run selected on, primary first."""
        try:
            return self.config.search_objectives(self.problem.spec)
        except ConfigError as exc:
            raise UserError(f"{self.directory}: {exc}", "the problem changed since the run was made") from None

    def programs(self) -> list[ProgramRecord]:
        """Every program of the run, failed ones included, by id."""
        return self.archive.programs(self.run_id)

    def program(self, program_id: int) -> ProgramRecord:
        """The program with this id. Raises UserError when the run has none."""
        program = self.archive.program(self.run_id, program_id)
        if program is None:
            count = len(self.programs())
            raise UserError(f"no program {program_id} in run {self.run_id} of {self.directory}", _ids_hint(count))
        return program

    def frontier(self, programs: Sequence[ProgramRecord] | None = None) -> list[ProgramRecord]:
        """Programs no other beats on every selection objective on train, best primary objective first."""
        programs = self.programs() if programs is None else programs
        return frontier_of(programs, self.objectives, self.config.timing_tolerance)

    def rows(self, programs: Sequence[ProgramRecord] | None = None) -> list[dict[str, object]]:
        """One flat dict per program, ready for ``pandas.DataFrame(run.rows())`` (pandas is not needed here):
        ``id``, ``iteration``, ``island``, ``generation``, ``parent`` (the main one, None for starters),
        ``mutator``, ``model``, ``note``, ``status`` (its last stage's), ``frontier`` (on the train frontier),
        ``lines`` (of code), and ``SPLIT.METRIC`` for every metric of every split it was scored on."""
        programs = self.programs() if programs is None else list(programs)
        on_front = {p.id for p in self.frontier(programs)}
        rows = []
        for program in programs:
            row: dict[str, object] = {
                "id": program.id, "iteration": program.iteration, "island": program.island,
                "generation": program.generation, "parent": program.parent_ids[0] if program.parent_ids else None,
                "mutator": program.mutator, "model": program.model, "note": program.note, "status": program.status,
                "frontier": program.id in on_front, "lines": len(program.code.splitlines()),
            }  # fmt: skip
            for split, evaluation in program.evaluations.items():
                row.update({f"{split}.{name}": value for name, value in evaluation.metrics.items()})
            rows.append(row)
        return rows

    def best(self, objective: str | None = None, split: str = "train") -> ProgramRecord | None:
        """The best program on ``split`` by one objective (default: the primary one); None when none passed it.

        Selecting on ``test`` is for reading only: the run never did, and a program picked on test has an
        optimistic test score.
        """
        chosen = self._objective(objective)
        scored = [p for p in self.programs() if p.selectable and p.metrics(split) is not None]
        if not scored:
            return None
        return min(scored, key=lambda p: (chosen.oriented(p.metrics(split)[chosen.name]), p.id))

    def lineage(self, program_id: int) -> list[ProgramRecord]:
        """The program and its main parents back to the seed (crossover's second parents are in ``parent_ids``)."""
        programs = {p.id: p for p in self.programs()}
        if program_id not in programs:
            raise UserError(f"no program {program_id} in run {self.run_id}", _ids_hint(len(programs)))
        return display.lineage(programs[program_id], programs)

    def llm_calls(self) -> list[LLMCall]:
        """Every model call of the run with its prompt, reply, tokens and dollars, oldest first."""
        return self.archive.llm_calls(self.run_id)

    def progress(self) -> list[ProgressRecord]:
        """The run's evaluations, wall time and spend after each iteration (empty for older archives)."""
        return self.archive.progress(self.run_id)

    def close(self) -> None:
        """Release the archive's connections."""
        self.archive.close()

    def _objective(self, name: str | None) -> Objective:
        if name is None:
            return self.objectives[0]
        for objective in self.problem.objectives:
            if objective.name == name:
                return objective
        names = ", ".join(o.name for o in self.problem.objectives)
        raise UserError(f"{self.problem.name} has no objective {name!r}", f"choose one of {names}")


def _ids_hint(count: int) -> str:
    return f"ids run from 1 to {count}" if count else "the run has no programs yet"


def open_view(run_dir: Path | str, db: str | None = None, kind: type[RunView] | None = None) -> RunView:
    """Open the run that ``adrs run`` wrote into ``run_dir``.

    Args:
        run_dir: the run directory (it holds ``run.toml``).
        db: the archive's SQLAlchemy URL when it is not the one recorded in ``run.toml`` (default: recorded,
            else the SQLite file of the directory).

    Raises:
        UserError: the folder holds no run, or its archive cannot be opened.
    """
    run_dir = Path(run_dir)
    run_file = run_dir / RUN_FILE
    if not run_file.is_file():
        raise UserError(f"{run_dir} is not a run directory (no {RUN_FILE})", "pass the folder `adrs run` created")
    try:
        saved = tomllib.loads(run_file.read_text())
        run_id = int(saved["run_id"])
    except (OSError, KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{run_file} is unreadable ({exc})", "it is written by `adrs run`; do not edit it") from None
    try:
        archive = Archive(db or saved.get("db") or sqlite_url(run_dir))
        archive.run(run_id)
    except Exception as exc:  # noqa: BLE001 - any database trouble is the user's setting
        reason = next(iter(str(getattr(exc, "orig", None) or exc).splitlines()), "")
        raise UserError(f"cannot open the archive of {run_dir}: {reason}", "check --db") from None
    return (kind or RunView)(run_dir, archive, run_id)
