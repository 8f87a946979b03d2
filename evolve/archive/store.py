"""The archive: every run, program and evaluation, in any SQLAlchemy database (SQLite by default).

Each state change is one transaction, so a run killed at any moment resumes from what was committed with
nothing lost and nothing added twice (a program's code hash is unique within its run). Runs never write each
other's rows, so several runs, in several processes, can share one database (SQLite or PostgreSQL).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Float, bindparam, create_engine, event, func, make_url, select, text, update
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import sessionmaker

from evaluators.evaluator import EvaluationResult
from evolve.archive.models import Base, Evaluation, LLMCall, Migration, Program, Progress, Run
from evolve.archive.records import (
    EvaluationRecord,
    NewLLMCall,
    NewProgram,
    ProgramRecord,
    ProgressRecord,
    RunRecord,
)

DB_FILENAME = "archive.db"
_SCHEMA_LOCK = 0x61647273  # "adrs": the PostgreSQL advisory lock held while creating the tables


_RUNS, _PROGRAMS, _EVALUATIONS = Run.__table__, Program.__table__, Evaluation.__table__
_MIGRATIONS, _CALLS, _PROGRESS = Migration.__table__, LLMCall.__table__, Progress.__table__
_STORED_HASHES = select(_PROGRAMS.c.code_hash).where(
    _PROGRAMS.c.run_id == bindparam("run"), _PROGRAMS.c.code_hash.in_(bindparam("hashes", expanding=True))
)
_INSERT_PROGRAMS = _PROGRAMS.insert().returning(_PROGRAMS.c.id, sort_by_parameter_order=True)
_ADVANCE_RUN = (
    update(_RUNS)
    .where(_RUNS.c.id == bindparam("run"))
    .values(
        iteration=bindparam("reached"),
        evaluations=_RUNS.c.evaluations + bindparam("spent"),
        wall_seconds=func.coalesce(bindparam("wall", type_=Float()), _RUNS.c.wall_seconds),
        dollars=_RUNS.c.dollars + bindparam("paid", type_=Float()),
        tokens=_RUNS.c.tokens + bindparam("used"),
    )
    .returning(_RUNS.c.evaluations, _RUNS.c.wall_seconds, _RUNS.c.dollars, _RUNS.c.tokens)
)


class ArchiveUnavailable(RuntimeError):
    """The database URL names a driver that is not installed."""


def sqlite_url(run_dir: Path) -> str:
    return f"sqlite:///{Path(run_dir).resolve() / DB_FILENAME}"


def _engine_url(url: str) -> URL:
    """``url`` with a driver: a bare ``postgresql://`` means psycopg 3, the driver of the postgres extra."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" else parsed


def _create_engine(url: str) -> Engine:
    parsed = _engine_url(url)
    try:
        # Pre-ping: a long run leaves connections idle for minutes, and a server may drop them meanwhile.
        return create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    except ImportError as exc:
        hint = "install it"
        if parsed.get_backend_name() == "postgresql":  # the extra brings psycopg 3, which postgresql:// uses
            hint = "pip install 'adrs[postgres]' and use a postgresql:// URL"
        shown = parsed.render_as_string(hide_password=True)
        raise ArchiveUnavailable(f"the driver of {shown} is not installed ({exc}): {hint}") from None


def _create_tables(engine: Engine) -> None:
    """Create the missing tables, safe against other processes doing the same at once."""
    if engine.dialect.name == "postgresql":  # the advisory lock makes the others wait, then find the tables
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            Base.metadata.create_all(connection)
        return
    for attempt in range(5):
        try:
            Base.metadata.create_all(engine)
            return
        except DBAPIError:  # another process created a table between our check and our CREATE
            if attempt == 4:
                raise
            time.sleep(0.05)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record):  # WAL: 0.4 ms commits instead of 16 ms (see FACTS.md)
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


class Archive:
    """Programs and evaluations of runs, behind a small API of plain records."""

    def __init__(self, url: str):
        """Open (creating its tables if needed) the archive at an SQLAlchemy ``url``.

        Raises:
            ArchiveUnavailable: the URL's driver is not installed (``postgresql://`` needs the postgres extra).
        """
        self.engine = _create_engine(url)
        if self.engine.dialect.name == "sqlite":
            _tune_sqlite(self.engine)
        _create_tables(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    # -- runs ------------------------------------------------------------------------------------------

    def create_run(self, problem: str, config: dict[str, Any], seed: int) -> int:
        with self._session.begin() as session:
            run = Run(problem=problem, config=config, seed=seed)
            session.add(run)
            session.flush()
            return run.id

    def run(self, run_id: int) -> RunRecord:
        with self._session() as session:
            return _run_record(session.get_one(Run, run_id))

    def finish_run(self, run_id: int, status: str, wall_seconds: float) -> None:
        with self._session.begin() as session:
            run = session.get_one(Run, run_id)
            run.status, run.wall_seconds = status, wall_seconds

    # -- programs --------------------------------------------------------------------------------------

    def commit_iteration(
        self,
        run_id: int,
        iteration: int,
        programs: Iterable[NewProgram],
        evaluations_spent: int,
        migrations: Iterable[tuple[int, int]] = (),
        wall_seconds: float | None = None,
        llm_calls: Iterable[NewLLMCall] = (),
    ) -> list[int | None]:
        """Store one iteration atomically; returns the new ids (None for a code hash already stored)."""
        programs = list(programs)
        calls = list(llm_calls)
        # Core statements built once, on one connection: the ORM's per-statement work was most of an iteration.
        with self.engine.begin() as connection:
            # Only the iteration's own hashes are looked up (by index): the cost stays flat as the run grows.
            hashes = sorted({new.code_hash for new in programs})
            known = set(connection.scalars(_STORED_HASHES, {"run": run_id, "hashes": hashes}))
            fresh: dict[str, NewProgram] = {}  # by hash, in order: a code twice in the iteration is stored once
            for new in programs:
                if new.code_hash not in known:
                    fresh.setdefault(new.code_hash, new)
            # Bulk inserts, their ids returned in the rows' order: one statement per table for the iteration.
            stored_ids = dict(zip(fresh, _insert_programs(connection, run_id, iteration, list(fresh.values()))))
            ids = [stored_ids.pop(new.code_hash, None) for new in programs]
            rows = [
                _evaluation_values(program_id, result)
                for program_id, new in zip(ids, programs)
                if program_id is not None
                for result in new.evaluations
            ]
            if rows:
                connection.execute(_EVALUATIONS.insert(), rows)
            moves = [
                {"run_id": run_id, "program_id": program_id, "island": island, "iteration": iteration}
                for program_id, island in migrations
            ]
            if moves:
                connection.execute(_MIGRATIONS.insert(), moves)
            if calls:
                connection.execute(_CALLS.insert(), [_llm_call_values(run_id, iteration, call, ids) for call in calls])
            totals = {
                "run": run_id, "reached": iteration, "spent": evaluations_spent, "wall": wall_seconds,
                "paid": sum(call.dollars for call in calls),
                "used": sum(call.prompt_tokens + call.completion_tokens for call in calls),
            }  # fmt: skip
            after = connection.execute(_ADVANCE_RUN, totals).one()
            progress = dict(zip(("evaluations", "wall_seconds", "dollars", "tokens"), after))
            connection.execute(_PROGRESS.insert(), [{"run_id": run_id, "iteration": iteration, **progress}])
        return ids

    def add_evaluation(self, program_id: int, result: EvaluationResult) -> bool:
        """Attach an evaluation (e.g. on test); False when that split was already stored."""
        try:
            with self._session.begin() as session:
                row = _evaluation_row(result)
                row.program_id = session.get_one(Program, program_id).id
                session.add(row)
            return True
        except IntegrityError:
            return False

    def programs(self, run_id: int) -> list[ProgramRecord]:
        with self._session() as session:
            rows = session.scalars(select(Program).where(Program.run_id == run_id).order_by(Program.id))
            return [_program_record(p) for p in rows]

    def program(self, run_id: int, program_id: int) -> ProgramRecord | None:
        with self._session() as session:
            row = session.get(Program, program_id)
            return _program_record(row) if row is not None and row.run_id == run_id else None

    def llm_calls(self, run_id: int) -> list[LLMCall]:
        """Every model call of the run, oldest first (detached rows)."""
        with self._session() as session:
            return list(session.scalars(select(LLMCall).where(LLMCall.run_id == run_id).order_by(LLMCall.id)))

    def answered_call(self, request_hash: str) -> LLMCall | None:
        """The first stored call with this request hash that got an answer, from any run (the replay cache)."""
        with self._session() as session:
            query = select(LLMCall).where(LLMCall.request_hash == request_hash, LLMCall.response != "")
            return session.scalars(query.order_by(LLMCall.id).limit(1)).first()

    def progress(self, run_id: int) -> list[ProgressRecord]:
        """The run's counters after each committed iteration, oldest first (empty for archives older than them)."""
        with self._session() as session:
            rows = session.scalars(select(Progress).where(Progress.run_id == run_id).order_by(Progress.id))
            return [ProgressRecord(r.iteration, r.evaluations, r.wall_seconds, r.dollars, r.tokens) for r in rows]

    def migrations(self, run_id: int) -> list[tuple[int, int]]:
        """(program id, island) of every migration of the run, oldest first."""
        return [(program, island) for _, program, island in self.migrations_by_iteration(run_id)]

    def migrations_by_iteration(self, run_id: int) -> list[tuple[int, int, int]]:
        """(iteration, program id, island) of every migration of the run, oldest first."""
        with self._session() as session:
            columns = (Migration.iteration, Migration.program_id, Migration.island)
            rows = session.execute(select(*columns).where(Migration.run_id == run_id).order_by(Migration.id))
            return [(iteration, program, island) for iteration, program, island in rows]


def _llm_call_values(run_id: int, iteration: int, call: NewLLMCall, ids: list[int | None]) -> dict[str, Any]:
    return {
        "run_id": run_id, "program_id": ids[call.child] if call.child is not None else None,
        "parent_id": call.parent_id, "iteration": iteration, "model": call.model, "request_hash": call.request_hash,
        "prompt": json.dumps([list(m) for m in call.messages]), "temperature": call.temperature,
        "response": call.response, "status": call.status, "detail": call.detail, "attempts": call.attempts,
        "prompt_tokens": call.prompt_tokens, "completion_tokens": call.completion_tokens, "dollars": call.dollars,
        "latency_seconds": call.latency_seconds, "cached": call.cached,
    }  # fmt: skip


def _insert_programs(connection: Connection, run_id: int, iteration: int, programs: list[NewProgram]) -> list[int]:
    if not programs:
        return []
    rows = [
        {
            "run_id": run_id, "code": new.code, "code_hash": new.code_hash, "parent_ids": list(new.parent_ids),
            "island": new.island, "generation": new.generation, "iteration": iteration, "mutator": new.mutator,
            "model": new.model, "note": new.note,
        }
        for new in programs
    ]  # fmt: skip
    return list(connection.scalars(_INSERT_PROGRAMS, rows))


def _evaluation_values(program_id: int, result: EvaluationResult) -> dict[str, Any]:
    return {
        "program_id": program_id, "split": result.split, "status": result.status, "metrics": result.metrics,
        "groups": result.groups, "per_instance": result.per_instance, "feedback": result.feedback,
        "seconds": result.seconds,
    }  # fmt: skip


def _evaluation_row(result: EvaluationResult) -> Evaluation:
    return Evaluation(
        split=result.split,
        status=result.status,
        metrics=result.metrics,
        groups=result.groups,
        per_instance=result.per_instance,
        feedback=result.feedback,
        seconds=result.seconds,
    )


def _run_record(run: Run) -> RunRecord:
    return RunRecord(
        run.id,
        run.problem,
        run.config,
        run.seed,
        run.status,
        run.iteration,
        run.evaluations,
        run.wall_seconds,
        run.dollars,
        run.tokens,
    )


def _program_record(row: Program) -> ProgramRecord:
    evaluations = {
        e.split: EvaluationRecord(e.split, e.status, e.metrics, e.groups, e.per_instance, e.feedback, e.seconds)
        for e in row.evaluations
    }
    return ProgramRecord(
        row.id,
        row.run_id,
        row.code,
        row.code_hash,
        tuple(row.parent_ids),
        row.island,
        row.generation,
        row.iteration,
        row.mutator,
        row.model,
        row.note,
        evaluations,
    )
