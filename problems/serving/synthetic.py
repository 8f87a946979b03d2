"""Seeded synthetic request traces for ``serving``: arrivals, length presets, multi-turn conversations.

The repository ships no data, so its splits are generated here; everything is deterministic given a seed, so a
split is the same on every machine. Presets match published means (docs/serving.md, "Workloads and splits").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from problems.serving.traces import Trace, make_trace

# -- arrivals and lengths ----------------------------------------------------------------------------------------------


def generate_arrivals(rate: float, seconds: float, rng: np.random.Generator, cv: float = 1.0) -> np.ndarray:
    """Arrival times in ``[0, seconds)`` of a renewal process of mean ``rate`` per second.

    Gaps are gamma distributed with coefficient of variation ``cv``: ``cv = 1`` is a Poisson process, larger
    values are burstier (as production traces are), smaller ones more regular.
    """
    if not (rate > 0 and seconds > 0 and cv > 0):
        raise ValueError(f"arrivals need a positive rate, duration and cv (got {rate}, {seconds}, {cv})")
    shape = 1.0 / (cv * cv)
    scale = 1.0 / (rate * shape)
    expected = rate * seconds
    times: list[np.ndarray] = []
    clock = 0.0
    while clock < seconds:
        batch = clock + np.cumsum(rng.gamma(shape, scale, int(expected + 6 * math.sqrt(expected) + 16)))
        times.append(batch)
        clock = float(batch[-1])
    arrivals = np.concatenate(times)
    return arrivals[arrivals < seconds]


@dataclass(frozen=True)
class LengthPreset:
    """Lognormal prompt and output lengths, clipped to a maximum, with means matched after clipping.

    Attributes:
        prompt_mean, output_mean: target means in tokens.
        prompt_sigma, output_sigma: standard deviation of the log of the length (the spread).
        prompt_max, output_max: largest length drawn (a model's context and generation limits).
    """

    prompt_mean: float
    prompt_sigma: float
    output_mean: float
    output_sigma: float
    prompt_max: int = 16384
    output_max: int = 2048


@dataclass(frozen=True)
class ConversationPreset:
    """Multi-turn conversations: each turn's prompt is the whole conversation so far plus a new message.

    A conversation's turns arrive open-loop: the next one at the previous arrival plus the time its answer takes
    to stream (``stream_seconds_per_token`` per output token) plus a think time. Without prefix caching, every
    turn prefills its whole context again, so contexts, and the KV cache they hold, grow along a conversation.

    Attributes:
        system_mean: tokens of the first message's system prompt and instructions (lognormal, spread 0.5).
        message_mean, message_sigma: tokens of each user message (lognormal).
        output_mean, output_sigma, output_max: tokens of each answer (lognormal, clipped).
        turns_mean: mean turns per conversation (geometric, at least one).
        think_seconds: mean time (exponential) between an answer's end and the next message.
        stream_seconds_per_token: the answer's streaming time per token, assumed for the next turn's arrival.
        prompt_max: a conversation ends before a turn whose prompt would exceed it (the model's context).
    """

    system_mean: float
    message_mean: float
    message_sigma: float
    output_mean: float
    output_sigma: float
    turns_mean: float
    think_seconds: float
    stream_seconds_per_token: float = 0.03
    output_max: int = 2048
    prompt_max: int = 32768


@dataclass(frozen=True)
class UniformPreset:
    """Prompt and output lengths drawn uniformly from inclusive ranges (the Past-Future paper's workloads)."""

    prompt_low: int
    prompt_high: int
    output_low: int
    output_high: int


# `conv` and `code` are fitted to the Azure 2023 traces: means as published, sigma = std of log lengths (conv
# 0.99/0.86, code 1.36/0.85). The others are stated assumptions where memory binds (docs/serving.md):
# `longout`, long answers (reasoning-style outputs, a mean of 1200 tokens, up to 8192); `longprompt`, long
# documents to summarise (8k tokens on average, up to 32k, as Llama-3.1's context allows). `decode-heavy` is
# the Past-Future paper's decode-heavy setting (prompt U[32, 4096], output U[2048, 4096]).
Preset = LengthPreset | ConversationPreset | UniformPreset
PRESETS: dict[str, Preset] = {
    "conv": LengthPreset(1155, 0.99, 211, 0.86, prompt_max=16384, output_max=2048),
    "code": LengthPreset(2048, 1.36, 28, 0.85, prompt_max=8192, output_max=2048),
    "longout": LengthPreset(1500, 0.9, 1200, 0.9, prompt_max=16384, output_max=8192),
    "longprompt": LengthPreset(8000, 0.6, 300, 0.8, prompt_max=32768, output_max=2048),
    "multiturn": ConversationPreset(800, 200, 1.0, 300, 0.86, turns_mean=5.0, think_seconds=20.0),
    "decode-heavy": UniformPreset(32, 4096, 2048, 4096),
}


def _clipped_lognormal_mean(mu: float, sigma: float, cap: float) -> float:
    """E[min(X, cap)] for X lognormal(mu, sigma)."""
    z = (math.log(cap) - mu) / sigma
    below = math.exp(mu + sigma * sigma / 2) * _phi(z - sigma)
    return below + cap * (1.0 - _phi(z))


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def lognormal_lengths(mean: float, sigma: float, cap: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` integer lengths in ``[1, cap]`` whose expected mean (before rounding) is ``mean``.

    The log-mean is solved by bisection so that clipping at ``cap`` does not pull the mean below its target.
    """
    if not (0 < mean < cap and sigma > 0):
        raise ValueError(f"lognormal lengths need 0 < mean < cap and sigma > 0 (got {mean}, {cap}, {sigma})")
    low, high = math.log(mean) - 10 * sigma * sigma - 10, math.log(cap) + 10 * sigma
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if _clipped_lognormal_mean(mid, sigma, cap) < mean else (low, mid)
    draws = rng.lognormal((low + high) / 2, sigma, n)
    return np.clip(np.rint(draws), 1, cap).astype(np.int64)


def synthetic_trace(preset: str | Preset, rate: float, seconds: float, seed: int, cv: float = 1.0) -> Trace:
    """A seeded trace: arrivals at ``rate`` per second (gamma gaps of ``cv``) over ``seconds``, preset lengths.

    For a conversation preset, conversations start at ``rate / turns_mean`` per second, so that requests
    arrive at about ``rate`` once conversations overlap (fewer in the window's first minutes)."""
    spec = PRESETS[preset] if isinstance(preset, str) else preset
    rng = np.random.default_rng(seed)
    if isinstance(spec, ConversationPreset):
        return conversations(spec, rate, seconds, rng, cv)
    arrivals = generate_arrivals(rate, seconds, rng, cv)
    n = len(arrivals)
    if isinstance(spec, UniformPreset):
        prompt = rng.integers(spec.prompt_low, spec.prompt_high + 1, n)
        return make_trace(arrivals, prompt, rng.integers(spec.output_low, spec.output_high + 1, n))
    prompt = lognormal_lengths(spec.prompt_mean, spec.prompt_sigma, spec.prompt_max, n, rng)
    output = lognormal_lengths(spec.output_mean, spec.output_sigma, spec.output_max, n, rng)
    return make_trace(arrivals, prompt, output)


def length_trace_windows(
    prompt: np.ndarray, output: np.ndarray, rate: float, seconds: float, windows: int, seed: int, cv: float = 1.0
) -> list[Trace]:
    """``windows`` traces of ``seconds`` each: generated arrivals paired with a length trace's requests.

    Lengths come from one seeded shuffle of the trace, taken in turn, so windows share no row until the trace
    is used up (then it cycles).
    """
    if len(prompt) != len(output) or not len(prompt):
        raise ValueError("a length trace needs as many prompt as output lengths, and at least one")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(prompt))
    traces, used = [], 0
    for _ in range(windows):
        arrivals = generate_arrivals(rate, seconds, rng, cv)
        rows = order[np.arange(used, used + len(arrivals)) % len(order)]
        used += len(arrivals)
        traces.append(make_trace(arrivals, np.asarray(prompt)[rows], np.asarray(output)[rows]))
    return traces


def conversations(spec: ConversationPreset, rate: float, seconds: float, rng: np.random.Generator, cv: float) -> Trace:
    """Turns of conversations, each turn a request, arriving in ``[0, seconds)``. Conversations start from well
    before the window (three mean conversation lengths), so that it opens in steady state: with conversations
    under way, at about ``rate`` requests per second, and with contexts already grown. See
    ``ConversationPreset``."""
    turn_seconds = spec.think_seconds + spec.output_mean * spec.stream_seconds_per_token
    warmup = 3 * spec.turns_mean * turn_seconds
    starts = generate_arrivals(rate / spec.turns_mean, seconds + warmup, rng, cv) - warmup
    arrivals: list[float] = []
    prompts: list[int] = []
    outputs: list[int] = []
    for start in starts:
        turns = int(rng.geometric(1.0 / spec.turns_mean))
        messages = lognormal_lengths(spec.message_mean, spec.message_sigma, spec.prompt_max // 2, turns, rng)
        answers = lognormal_lengths(spec.output_mean, spec.output_sigma, spec.output_max, turns, rng)
        system = int(lognormal_lengths(spec.system_mean, 0.5, spec.prompt_max // 2, 1, rng)[0])
        clock, context = float(start), system
        for message, answer in zip(messages.tolist(), answers.tolist()):
            context += message
            if clock >= seconds or context > spec.prompt_max:
                break
            if clock >= 0:
                arrivals.append(clock)
                prompts.append(context)
                outputs.append(answer)
            context += answer
            clock += answer * spec.stream_seconds_per_token + rng.exponential(spec.think_seconds)
    return make_trace(arrivals, prompts, outputs)
