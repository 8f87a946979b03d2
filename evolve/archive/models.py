"""SQLAlchemy 2.0 models of the archive. Logic that uses them lives in ``archive.py``."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def _now() -> datetime:
    return datetime.now(timezone.utc)


# PostgreSQL refuses what SQLite stores as is: NUL characters in text, NaN and infinities in json. A candidate
# can print NUL or report a NaN, and must not crash the run, so on PostgreSQL these two types work around it.


class _TextWithoutNul(TypeDecorator):
    """Text with each NUL character replaced by U+FFFD."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.replace("\x00", "\ufffd")


class _JSONAsText(TypeDecorator):
    """JSON kept as text, like SQLite keeps it: NaN and infinities round-trip."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else json.dumps(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


_TEXT = Text().with_variant(_TextWithoutNul(), "postgresql")
_JSON = JSON().with_variant(_JSONAsText(), "postgresql")


class Base(DeclarativeBase):
    pass


class Run(Base):
    """One evolution run: its problem, its configuration and how far it got."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(_JSON)
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="running")
    iteration: Mapped[int] = mapped_column(Integer, default=0)  # last fully committed iteration
    evaluations: Mapped[int] = mapped_column(Integer, default=0)  # sandbox runs spent, tuning included
    wall_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    dollars: Mapped[float] = mapped_column(Float, default=0.0)  # LLM spend, replayed calls excluded
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Program(Base):
    """A program that was evaluated, whether it succeeded or failed."""

    __tablename__ = "programs"
    __table_args__ = (UniqueConstraint("run_id", "code_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    code: Mapped[str] = mapped_column(_TEXT)
    code_hash: Mapped[str] = mapped_column(String(64))
    parent_ids: Mapped[list[int]] = mapped_column(_JSON, default=list)
    island: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    iteration: Mapped[int] = mapped_column(Integer)
    mutator: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    note: Mapped[str] = mapped_column(_TEXT, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    evaluations: Mapped[list[Evaluation]] = relationship(back_populates="program", lazy="selectin")


class Evaluation(Base):
    """A program's result on one split (static, smoke, train or test)."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("program_id", "split"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    split: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    metrics: Mapped[dict[str, float]] = mapped_column(_JSON, default=dict)
    groups: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)
    per_instance: Mapped[list[Any]] = mapped_column(_JSON, default=list)
    feedback: Mapped[str] = mapped_column(_TEXT, default="")
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    program: Mapped[Program] = relationship(back_populates="evaluations")


class Progress(Base):
    """The run's cumulative counters right after one committed iteration (iteration 0: the seed), so that a
    report or a comparison can say what reaching a program cost."""

    __tablename__ = "progress"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    iteration: Mapped[int] = mapped_column(Integer)
    evaluations: Mapped[int] = mapped_column(Integer)  # as Run.evaluations: sandbox runs, tuning included
    wall_seconds: Mapped[float] = mapped_column(Float)
    dollars: Mapped[float] = mapped_column(Float)
    tokens: Mapped[int] = mapped_column(Integer)


class Migration(Base):
    """A program copied into another island's population."""

    __tablename__ = "migrations"
    __table_args__ = (UniqueConstraint("run_id", "program_id", "island"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    island: Mapped[int] = mapped_column(Integer)
    iteration: Mapped[int] = mapped_column(Integer)


class LLMCall(Base):
    """One request to a language model, with its cost; the response doubles as the replay cache."""

    __tablename__ = "llm_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"), nullable=True)  # the child made
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"), nullable=True)
    iteration: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64), index=True)
    prompt: Mapped[str] = mapped_column(_TEXT)  # JSON list of [role, content]
    temperature: Mapped[float] = mapped_column(Float, default=0.0)
    response: Mapped[str] = mapped_column(_TEXT)  # empty when the call failed
    status: Mapped[str] = mapped_column(String(16), default="applied")  # applied | edit_failed | call_failed
    detail: Mapped[str] = mapped_column(_TEXT, default="")  # the applied diff, or why it failed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    dollars: Mapped[float] = mapped_column(Float, default=0.0)
    latency_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
