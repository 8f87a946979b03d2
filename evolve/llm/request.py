"""What is asked of a model, and what a model costs: the nouns the client and its transports share."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class LLMRequest:
    """One chat completion to ask for.

    Attributes:
        model: a litellm model string, e.g. ``openai/gpt-4o-mini`` or ``ollama/qwen2.5-coder:7b``.
        messages: the conversation as (role, content) pairs.
        temperature: sampling temperature.
        seed: sampling seed, for providers that honour one.
        max_tokens: cap on the answer's length; not part of the cache key (it does not change what a
            model would say, only where it stops).
    """

    model: str
    messages: tuple[tuple[str, str], ...]
    temperature: float
    seed: int | None = None
    max_tokens: int | None = None

    def key(self) -> str:
        """The replay-cache key: sha256 hex of a canonical JSON of (model, messages, temperature, seed)."""
        canonical = json.dumps(
            [self.model, [list(m) for m in self.messages], float(self.temperature), self.seed],
            separators=(",", ":"),
            ensure_ascii=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Price:
    """What a model costs, in dollars per token.

    Attributes:
        input_per_token: price of one prompt token.
        output_per_token: price of one completion token.
    """

    input_per_token: float
    output_per_token: float
