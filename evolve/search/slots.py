"""An iteration's slots: what each will do (chosen before it is launched) and what each did, merged for commit."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass

from evaluators.evaluator import EvaluationResult
from evolve.archive.store import NewLLMCall, NewProgram, ProgramRecord
from evolve.llm.ledger import CallRecord
from evolve.mutator import Candidate, MutationContext, Mutator
from evolve.search import records


@dataclass(frozen=True)
class SlotPlan:
    """What one slot of an iteration will do, chosen on the state its iteration is launched on."""

    island: int
    parent: ProgramRecord
    mutator: Mutator
    context: MutationContext


@dataclass(frozen=True)
class Plan:
    """An iteration's slots, and the last committed iteration whose programs it may know of."""

    iteration: int
    state: int
    slots: list[SlotPlan | None]  # None: the slot's island was empty


@dataclass(frozen=True)
class SlotWork:
    """What one slot of an iteration proposed, how each proposal fared, and what it cost."""

    proposals: list[tuple[Candidate, int]]
    digests: list[str]  # normalized code hash of each proposal
    histories: list[list[EvaluationResult]]
    calls: list[CallRecord]
    evaluations: int = 0


def merge(
    works: Sequence[SlotWork], programs_by_id: Mapping[int, ProgramRecord], known_hashes: Container[str]
) -> tuple[list[NewProgram], list[NewLLMCall]]:
    """The slots' programs in slot order, each code once and none stored before (an iteration in flight may
    have stored it meanwhile), and their model calls pointing at them."""
    programs: list[NewProgram] = []
    calls: list[NewLLMCall] = []
    seen: set[str] = set()
    for work in works:
        kept: dict[int, int] = {}
        for index, ((candidate, island), digest, history) in enumerate(
            zip(work.proposals, work.digests, work.histories)
        ):
            if digest in seen or digest in known_hashes:
                continue
            seen.add(digest)
            kept[index] = len(programs)
            generation = programs_by_id[candidate.parent_ids[0]].generation + 1
            programs.append(
                NewProgram(
                    candidate.code,
                    digest,
                    candidate.parent_ids,
                    island,
                    generation,
                    candidate.mutator,
                    candidate.note,
                    history,
                    candidate.model,
                )
            )
        applied = next(iter(kept.values()), None)  # a model call makes at most one child
        calls += [records.stored_call(c, applied if c.status == "applied" else None) for c in work.calls]
    return programs, calls
