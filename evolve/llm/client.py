"""The one place that talks to language models: a transport (litellm, or the openai SDK for an OpenAI-compatible
server; see ``transport.py``) behind retries, prices and a replay cache.

Failures of kind ``rate_limit``, ``server`` and ``timeout`` are retried with jittered exponential backoff (or
as long as a Retry-After header says); the others (``malformed``, ``empty``, ``auth``, ``bad_request``, ``other``)
fail at once. ``errors`` says which exception becomes which kind. Every wait is visible (and injectable in tests).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from evolve.llm import transport as transports
from evolve.llm.errors import retry_after
from evolve.llm.request import LLMRequest, Price

RETRYABLE_KINDS = frozenset({"rate_limit", "server", "timeout"})


@dataclass(frozen=True)
class LLMReply:
    """A model's answer and what it cost.

    Attributes:
        text: the answer's content.
        prompt_tokens: input tokens, from the provider's usage block (0 when it sent none).
        completion_tokens: output tokens, likewise.
        dollars: the price of the call (see ``LLMClient`` for where prices come from).
        latency_seconds: wall time of the successful attempt.
        attempts: HTTP attempts made, the successful one included.
        cached: True when the reply came from the cache; its other fields are then those of the original
            call, so a replayed run makes the same budget decisions (sum uncached replies for money spent).
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    dollars: float
    latency_seconds: float
    attempts: int
    cached: bool = False


class LLMError(Exception):
    """A request that failed for good.

    Attributes:
        kind: ``rate_limit``, ``server``, ``timeout``, ``malformed``, ``empty``, ``auth``, ``bad_request``,
            ``replay_miss`` or ``other``.
        attempts: HTTP attempts made (0 for a replay miss).
        reason: one line saying what went wrong; also ``str(error)``.
        seconds: wall time of all attempts and the waits between them.
    """

    def __init__(self, kind: str, reason: str, attempts: int, seconds: float = 0.0):
        self.kind, self.attempts, self.seconds = kind, attempts, seconds
        self.reason = _one_line(reason)
        super().__init__(self.reason)


class ResponseCache(Protocol):
    """Where successful replies are kept, keyed by ``LLMRequest.key()`` (the archive is one)."""

    def get(self, key: str) -> LLMReply | None: ...

    def put(self, request: LLMRequest, reply: LLMReply) -> None: ...


class MemoryCache:
    """A ``ResponseCache`` in a dict, for tests and runs that need no persistence."""

    def __init__(self) -> None:
        self._replies: dict[str, LLMReply] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> LLMReply | None:
        with self._lock:
            return self._replies.get(key)

    def put(self, request: LLMRequest, reply: LLMReply) -> None:
        with self._lock:
            self._replies[request.key()] = reply

    def __len__(self) -> int:
        return len(self._replies)


class LLMClient:
    """Sends ``LLMRequest``s through a transport, with retries, prices and a replay cache.

    Args:
        api_base: base URL of an OpenAI-compatible or local server; None for the provider's own endpoint.
            API keys come only from the environment, as litellm reads them; with an ``api_base`` and no key
            there, a dummy key is sent so that local servers work.
        transport: ``auto`` (the openai SDK for an ``openai/`` model at an ``api_base``, litellm for the rest),
            ``litellm`` (always) or ``openai`` (an ``openai/`` model at an ``api_base`` only).
        prices: dollars per token by model string. A model without one costs 0.0 on a local server
            (``api_base`` set), else what litellm's bundled price map says.
        timeout_seconds: limit for one HTTP attempt.
        max_attempts: HTTP attempts per request, the first included.
        backoff_seconds: first retry delay; it doubles per attempt.
        backoff_max_seconds: cap on one delay, Retry-After included.
        cache: consulted before any request and fed every success.
        offline: never send requests; a cache miss raises ``LLMError("replay_miss")``.
        rng: source of jitter.
        sleep: how to wait between attempts (tests record the delays instead).

    Attributes:
        cost_unknown: models whose calls were priced at 0.0 because litellm knows no price for them (give
            them a ``Price`` to count them); empty when every dollar figure is real.
    """

    def __init__(
        self,
        api_base: str | None = None,
        prices: dict[str, Price] | None = None,
        timeout_seconds: float = 60.0,
        max_attempts: int = 4,
        backoff_seconds: float = 1.0,
        backoff_max_seconds: float = 30.0,
        cache: ResponseCache | None = None,
        offline: bool = False,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: str = "auto",
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if transport not in transports.TRANSPORTS:  # fail here, not at the first call
            raise ValueError(f"transport must be one of {', '.join(transports.TRANSPORTS)}, not {transport!r}")
        self.api_base, self.prices, self.transport = api_base, dict(prices or {}), transport
        self._transports: dict[str, transports.Transport] = {}
        self._transports_lock = threading.Lock()
        self.timeout_seconds, self.max_attempts = timeout_seconds, max_attempts
        self.backoff_seconds, self.backoff_max_seconds = backoff_seconds, backoff_max_seconds
        self.cache, self.offline = cache, offline
        self.rng, self.sleep = rng or random.Random(), sleep
        self.cost_unknown: set[str] = set()

    def complete(self, request: LLMRequest) -> LLMReply:
        """The model's reply to ``request``, from the cache when it is there; raises ``LLMError`` on failure."""
        key = request.key()
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None:
            return replace(hit, cached=True)
        if self.offline:
            raise LLMError("replay_miss", f"no cached reply for {request.model} (request {key[:12]})", 0)
        sender = self._transport(request.model)
        began = time.perf_counter()
        for attempt in range(1, self.max_attempts + 1):
            started = time.perf_counter()
            try:
                response = sender.send(request)
            except Exception as exc:  # every failure is classified; none escapes unmapped
                kind = sender.kind_of(exc)
                if kind not in RETRYABLE_KINDS or attempt == self.max_attempts:
                    reason = f"{_describe(exc)} (attempt {attempt} of {self.max_attempts})"
                    raise LLMError(kind, reason, attempt, time.perf_counter() - began) from exc
                self.sleep(self._delay(attempt, retry_after(exc)))
                continue
            try:
                reply = self._reply(request, response, time.perf_counter() - started, attempt)
            except LLMError as exc:
                exc.seconds = time.perf_counter() - began
                raise
            if self.cache is not None:
                self.cache.put(request, reply)
            return reply
        raise AssertionError("unreachable: the last attempt either returns or raises")

    def _transport(self, model: str) -> transports.Transport:
        """The transport for ``model``, built on first use and shared by every thread."""
        name = transports.chosen(self.transport, model, self.api_base)
        with self._transports_lock:
            if name not in self._transports:
                if name == "openai":
                    assert self.api_base  # chosen() says so
                    self._transports[name] = transports.OpenAICompatible(self.api_base, self.timeout_seconds)
                else:
                    self._transports[name] = transports.LiteLLM(self.api_base, self.prices, self.timeout_seconds)
            return self._transports[name]

    def _delay(self, attempt: int, wait_seconds: float | None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        if wait_seconds is not None:
            # The server's word, stretched a little so that parallel clients do not return in lockstep.
            return min(self.backoff_max_seconds, wait_seconds * (1.0 + 0.1 * self.rng.random()))
        exponential = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        return exponential * (0.5 + self.rng.random())

    def _reply(self, request: LLMRequest, response: Any, latency: float, attempts: int) -> LLMReply:
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise LLMError("malformed", f"{request.model} answered without choices (attempt {attempts})", attempts)
        text = getattr(choices[0].message, "content", None)
        if not isinstance(text, str) or not text.strip():
            raise LLMError("empty", f"{request.model} answered with empty content (attempt {attempts})", attempts)
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        dollars = self._dollars(request.model, response, prompt_tokens, completion_tokens)
        return LLMReply(text, prompt_tokens, completion_tokens, dollars, latency, attempts)

    def _dollars(self, model: str, response: Any, prompt_tokens: int, completion_tokens: int) -> float:
        price = self.prices.get(model)
        if price is not None:
            return prompt_tokens * price.input_per_token + completion_tokens * price.output_per_token
        if self.api_base:
            return 0.0  # a local server: no bill
        known = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        if known is not None:
            return float(known)
        try:
            return float(transports.litellm_module().completion_cost(completion_response=response, model=model))
        except Exception:  # litellm raises ModelNotMappedError (and others) for models it has no price for
            self.cost_unknown.add(model)
            return 0.0


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if text.startswith("litellm.") else f"{type(exc).__name__}: {text}"  # litellm names itself


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
