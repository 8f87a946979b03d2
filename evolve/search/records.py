"""Conversions between the evaluator's results, the archive's records, mutator views and stored model calls."""

from __future__ import annotations

from evaluators.evaluator import EvaluationResult
from evolve.archive.store import EvaluationRecord, NewLLMCall, NewProgram, ProgramRecord
from evolve.llm.ledger import CallRecord
from evolve.mutator import ProgramView


def evaluation_record(result: EvaluationResult) -> EvaluationRecord:
    return EvaluationRecord(
        result.split, result.status, result.metrics, result.groups, result.per_instance, result.feedback, result.seconds
    )


def evaluation_result(record: EvaluationRecord) -> EvaluationResult:
    return EvaluationResult(
        record.split, record.status, record.metrics, record.groups, record.per_instance, record.feedback, record.seconds
    )


def program_record(program_id: int, run_id: int, iteration: int, new: NewProgram) -> ProgramRecord:
    evaluations = {e.split: evaluation_record(e) for e in new.evaluations}
    return ProgramRecord(
        program_id,
        run_id,
        new.code,
        new.code_hash,
        new.parent_ids,
        new.island,
        new.generation,
        iteration,
        new.mutator,
        new.model,
        new.note,
        evaluations,
    )


def stored_call(call: CallRecord, child: int | None) -> NewLLMCall:
    reply = call.reply
    return NewLLMCall(
        call.request.model,
        call.request.key(),
        call.request.messages,
        call.request.temperature,
        reply.text if reply else "",
        call.status,
        call.detail,
        call.parent_id,
        reply.prompt_tokens if reply else 0,
        reply.completion_tokens if reply else 0,
        reply.dollars if reply else 0.0,
        reply.latency_seconds if reply else call.seconds,
        reply.attempts if reply else call.attempts,
        reply.cached if reply else False,
        child,
    )


def view(program: ProgramRecord) -> ProgramView:
    last = program.evaluations.get("train") or next(reversed(program.evaluations.values()), None)
    groups = last.groups if last is not None and last.ok else {}
    return ProgramView(program.id, program.code, program.metrics("train") or {}, groups, last.feedback if last else "")
