"""The ``llm`` mutator: asks a language model for an edit of the parent's EVOLVE-BLOCKs.

It talks to models only through ``LLMClient`` and reports every call (prompt, reply, applied diff or failure
reason, tokens, dollars) to a ``CallRecorder``, so the loop can store calls in the archive and keep budgets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evolve import code_blocks
from evolve.llm.client import LLMClient, LLMError, LLMRequest
from evolve.llm.edits import EditError, apply_edits, apply_full_rewrite, parse_full_rewrite, parse_search_replace
from evolve.llm.ledger import CallRecord, CallRecorder
from evolve.llm.prompt import Message, Mode, PromptTemplates, build_messages, repair_message
from evolve.mutator import Candidate, MutationContext
from problems.base import ProblemSpec


@dataclass(frozen=True)
class ModelChoice:
    """One model of the ensemble.

    Attributes:
        name: a litellm model string, e.g. ``openai/gpt-4o-mini`` or ``ollama/qwen2.5-coder:7b``.
        weight: relative chance of being asked.
    """

    name: str
    weight: float = 1.0

    @classmethod
    def parse(cls, text: str) -> ModelChoice:
        """``NAME`` or ``NAME@WEIGHT`` as given on the command line."""
        name, _, weight = text.rpartition("@") if "@" in text else (text, "", "")
        try:
            return cls(name, float(weight) if weight else 1.0)
        except ValueError:
            return cls(text, 1.0)  # an '@' that is part of the name, not a weight


class LLMMutator:
    """Proposes one child per call by SEARCH/REPLACE edits (or, for a share of calls, whole-block rewrites).

    Args:
        client: the model client (retries, prices, replay cache).
        models: the ensemble; one is drawn per proposal by weight.
        spec: the problem, for the prompt.
        record: receives every call.
        templates: prompt templates (default: ``evolve/llm/prompts``).
        temperatures: one is drawn per call, so a run mixes careful and bold proposals.
        rewrite_share: chance that a proposal asks for whole blocks instead of edits.
        repair_rounds: how often a reply that cannot be applied is sent back with the reason.
        allows_call: asked before every call; False (a spent budget) ends the proposal without a call.
    """

    name = "llm"

    def __init__(
        self,
        client: LLMClient,
        models: Sequence[ModelChoice],
        spec: ProblemSpec,
        record: CallRecorder,
        templates: PromptTemplates | None = None,
        temperatures: Sequence[float] = (0.4, 0.8, 1.0),
        rewrite_share: float = 0.2,
        repair_rounds: int = 1,
        allows_call: Callable[[], bool] = lambda: True,
    ):
        if not models:
            raise ValueError("the llm mutator needs at least one model")
        self.client, self.models, self.spec, self.record = client, tuple(models), spec, record
        self.templates = templates or PromptTemplates.load()
        self.temperatures, self.rewrite_share, self.repair_rounds = tuple(temperatures), rewrite_share, repair_rounds
        self.allows_call = allows_call

    def propose(self, context: MutationContext) -> list[Candidate]:
        rng = context.rng
        if context.choose_model is not None:  # a bandit
            model = context.choose_model(rng)
        else:
            model = rng.choices([m.name for m in self.models], [m.weight for m in self.models])[0]
        mode: Mode = "rewrite" if rng.random() < self.rewrite_share else "diff"
        temperature = rng.choice(self.temperatures)
        seed = rng.randrange(2**31)
        parent = context.parent
        messages: tuple[Message, ...] = build_messages(self.templates, self.spec, context, mode)
        for _ in range(1 + self.repair_rounds):
            if not self.allows_call():  # checked before every call: a budget is overshot by one call at most
                return []
            request = LLMRequest(model, messages, temperature, seed)
            try:
                reply = self.client.complete(request)
            except LLMError as exc:
                failed = CallRecord(
                    request, None, "call_failed", f"{exc.kind}: {exc}", parent.id, exc.attempts, exc.seconds
                )
                self.record(failed)
                return []
            except Exception as exc:  # noqa: BLE001 - a provider fault must never end the run
                self.record(CallRecord(request, None, "call_failed", f"other: {type(exc).__name__}: {exc}", parent.id))
                return []
            try:
                child = _apply(parent.code, reply.text, mode)
            except EditError as exc:
                self.record(CallRecord(request, reply, "edit_failed", str(exc), parent.id))
                messages = (*messages, ("assistant", reply.text), repair_message(self.templates, str(exc)))
                continue
            diff = code_blocks.unified_diff(parent.code, child, f"program {parent.id}", "child")
            self.record(CallRecord(request, reply, "applied", diff, parent.id))
            return [Candidate(child, self.name, (parent.id,), _summary(reply.text), model)]
        return []


def _apply(code: str, reply: str, mode: Mode) -> str:
    if mode == "rewrite":
        return apply_full_rewrite(code, parse_full_rewrite(reply, len(code_blocks.blocks(code))))
    edits = parse_search_replace(reply)
    if not edits:
        raise EditError("the answer holds no SEARCH/REPLACE block")
    child = apply_edits(code, edits)
    if code_blocks.normalized_hash(child) == code_blocks.normalized_hash(code):
        raise EditError("the edit does not change the program")
    return child


def _summary(reply: str) -> str:
    """The model's one-sentence explanation: the first line of prose before its edits."""
    for line in reply.splitlines():
        text = line.strip().strip("#*` ")
        if text and not text.startswith(("<<<<", "====", ">>>>", "```")):
            return text[:200]
    return "llm edit"
