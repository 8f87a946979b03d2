"""What model calls cost: dollar and token budgets, and the calls waiting to be committed with their iteration."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from evolve.archive.store import Archive, NewLLMCall
from evolve.llm.bandit import ModelBandit
from evolve.llm.client import LLMReply, LLMRequest
from evolve.llm.roster import Roster


@dataclass(frozen=True)
class CallRecord:
    """One request to a model and what became of it.

    Attributes:
        request: what was sent.
        reply: what came back, or None when the call failed.
        status: ``applied`` (a child was made), ``edit_failed`` (the reply could not be applied) or
            ``call_failed`` (the provider failed after retries, or the reply was empty or malformed).
        detail: the applied diff, or the failure reason.
        parent_id: the program the edit was asked for.
        attempts: HTTP attempts of a failed call (a reply carries its own).
        seconds: wall time of a failed call, its retries included (likewise).
    """

    request: LLMRequest
    reply: LLMReply | None
    status: str
    detail: str
    parent_id: int
    attempts: int = 0
    seconds: float = 0.0


CallRecorder = Callable[[CallRecord], None]


class LLMLedger:
    """Counts spend as calls return, and gates calls so that budgets and concurrency hold.

    A call may start only while fewer than ``concurrency`` are in flight and the spend so far, plus the
    costliest call seen so far for each call in flight, stays under the budget: a budget is overshot by about
    one call at most, however many run at once. Replayed (cached) replies count with their recorded cost, so a
    replay makes the same budget decisions as the run it replays; the archive's ``cached`` flag tells what was
    really paid. Calls are kept per thread until the thread that made them takes them.

    Args:
        max_usd: stop asking models once this many dollars are spent; 0 = no limit.
        max_tokens: the same for prompt plus completion tokens; 0 = no limit.
        dollars: spend so far (a resumed run starts from its archived total).
        tokens: tokens so far.
        bandit: chooses models by frontier improvement per dollar, when the run asks for it.
        concurrency: model calls in flight at once.
        roster: the models still asked (failing ones are dropped); None: every model, always.
    """

    def __init__(
        self,
        max_usd: float = 0.0,
        max_tokens: int = 0,
        dollars: float = 0.0,
        tokens: int = 0,
        bandit: ModelBandit | None = None,
        concurrency: int = 1,
        roster: Roster | None = None,
    ):
        self.max_usd, self.max_tokens = max_usd, max_tokens
        self.dollars, self.tokens = dollars, tokens
        self.bandit, self.roster = bandit, roster
        self._slots = threading.Semaphore(max(1, concurrency))
        self._in_flight = 0
        self._costliest = (0.0, 0)  # dollars and tokens of the costliest call so far
        self._pending: dict[int, list[CallRecord]] = {}
        self._lock = threading.Lock()

    def exhausted(self) -> str | None:
        """Why no further call may be made, or None."""
        if self.max_usd and self.dollars >= self.max_usd:
            return f"LLM budget of ${self.max_usd:g} spent (${self.dollars:.4f})"
        if self.max_tokens and self.tokens >= self.max_tokens:
            return f"LLM token budget of {self.max_tokens} spent ({self.tokens})"
        return None

    def allows_call(self) -> bool:
        """Wait for a free call slot; True (the slot is held until ``record``) when the budget allows a call."""
        self._slots.acquire()
        with self._lock:
            dollars = self.dollars + self._in_flight * self._costliest[0]
            tokens = self.tokens + self._in_flight * self._costliest[1]
            if (self.max_usd and dollars >= self.max_usd) or (self.max_tokens and tokens >= self.max_tokens):
                self._slots.release()
                return False
            self._in_flight += 1
            return True

    def record(self, call: CallRecord) -> None:
        """The outcome of the call this thread was allowed to make."""
        thread = threading.get_ident()
        with self._lock:
            if self._in_flight > 0:  # every allowed call is recorded exactly once
                self._in_flight -= 1
                self._slots.release()
            self._pending.setdefault(thread, []).append(call)
            if call.reply is not None:
                tokens = call.reply.prompt_tokens + call.reply.completion_tokens
                self.dollars += call.reply.dollars
                self.tokens += tokens
                self._costliest = (max(self._costliest[0], call.reply.dollars), max(self._costliest[1], tokens))

    def settle(self, calls: list[NewLLMCall], program_ids: list[int | None], frontier: set[int]) -> list[str]:
        """Counts a commit's calls in order: each rewards its model by whether its child joined the frontier, at
        its cost, and a failed one may drop its model. Returns a line per model dropped."""
        dropped = []
        for call in calls:
            child = program_ids[call.child] if call.child is not None else None
            dropped += self.observe(call.model, call.status, call.detail, call.dollars, child in frontier)
        return dropped

    def observe(self, model: str, status: str, detail: str, dollars: float, joined_frontier: bool) -> list[str]:
        """One committed call (also when a resume replays the stored ones); a line if it dropped its model."""
        if self.bandit is not None:
            self.bandit.update(model, joined_frontier, dollars)
        line = self.roster.observe(model, status, detail) if self.roster is not None else None
        return [line] if line else []

    def counts_calls(self) -> bool:
        """Whether committed calls change what later proposals do (a resume must then replay them)."""
        return self.bandit is not None or self.roster is not None

    def no_model_left(self) -> str | None:
        return self.roster.no_model_left() if self.roster is not None else None

    def chooser(self) -> Callable[[random.Random], str] | None:
        """How a proposal planned now chooses its model; None: the mutator draws by its own weights."""
        if self.roster is not None:
            return self.roster.chooser(self.bandit)
        return self.bandit.snapshot().choose if self.bandit is not None else None

    def take(self) -> list[CallRecord]:
        """The calls this thread recorded since it last took them, oldest first."""
        with self._lock:
            return self._pending.pop(threading.get_ident(), [])


class ArchiveCache:
    """The replay cache: answers a request from any call with the same request hash stored in an archive."""

    def __init__(self, archive: Archive):
        self.archive = archive

    def get(self, key: str) -> LLMReply | None:
        row = self.archive.answered_call(key)
        if row is None:
            return None
        return LLMReply(
            row.response,
            row.prompt_tokens,
            row.completion_tokens,
            row.dollars,
            row.latency_seconds,
            row.attempts,
            cached=True,
        )

    def put(self, request, reply) -> None:
        """Nothing to do: the loop stores every call with its iteration, and that row is the cache entry."""
