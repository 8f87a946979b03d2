"""Request traces of ``serving``: loaded or generated, cut into windows, turned into instance data.

A trace is three aligned arrays: arrival times in seconds, prompt lengths and true output lengths in tokens.
Sources, all in their public formats:

- the Azure LLM inference trace 2023 (``TIMESTAMP,ContextTokens,GeneratedTokens``; Splitwise, ISCA'24), real
  arrivals and lengths, downloaded from GitHub ``Azure/AzurePublicDataset``;
- length-only traces (``num_prefill_tokens,num_decode_tokens,...``: ShareGPT and arXiv summarization as
  processed by ``microsoft/sarathi-serve`` and ``microsoft/vidur``), paired with generated arrivals;
- a seeded synthetic generator whose presets match the Azure traces' means (the repository ships no data).

Everything is deterministic given a seed, so a split is the same on every machine.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from problems.base import ProblemError


@dataclass(frozen=True)
class Trace:
    """Requests sorted by arrival.

    Attributes:
        arrivals: seconds, non-decreasing (float64).
        prompt: prompt tokens per request, >= 1 (int64).
        output: true output tokens per request, >= 1 (int64).
    """

    arrivals: np.ndarray
    prompt: np.ndarray
    output: np.ndarray

    def __len__(self) -> int:
        return len(self.arrivals)

    def window(self, start: float, length: float) -> Trace:
        """The requests arriving in ``[start, start + length)``, with times re-based so the window starts at 0."""
        keep = (self.arrivals >= start) & (self.arrivals < start + length)
        return Trace(self.arrivals[keep] - start, self.prompt[keep], self.output[keep])

    def compressed(self, factor: float) -> Trace:
        """The same requests with time squeezed by ``factor``: the arrival rate grows ``factor`` times.

        This is how one trace yields several load levels while keeping its burstiness and its lengths.
        """
        if not factor > 0:
            raise ValueError(f"a time-compression factor must be positive, got {factor}")
        return Trace(self.arrivals / factor, self.prompt, self.output)

    def span(self) -> float:
        """Seconds from 0 to the last arrival."""
        return float(self.arrivals[-1]) if len(self) else 0.0


def _make_trace(arrivals: Any, prompt: Any, output: Any) -> Trace:
    """A trace sorted by arrival (stable), lengths clamped to >= 1: the engine needs a token to prefill and one
    to produce, and a zero in a public trace is a logging artefact, not a request without work."""
    arrivals = np.asarray(arrivals, dtype=np.float64)
    order = np.argsort(arrivals, kind="stable")
    prompt = np.maximum(np.asarray(prompt, dtype=np.int64), 1)
    output = np.maximum(np.asarray(output, dtype=np.int64), 1)
    return Trace(arrivals[order], prompt[order], output[order])


# -- loaders of public formats -------------------------------------------------------------------------------

AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
LENGTH_COLUMNS = ("num_prefill_tokens", "num_decode_tokens")
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?")


def parse_timestamp(text: str) -> tuple[int, float]:
    """Whole POSIX seconds and the fraction of an Azure timestamp like ``2023-11-16 18:15:46.6805900``.

    Kept apart because a float of epoch seconds cannot hold the trace's 100 ns digits; times without a zone
    are read as UTC (only differences matter). ValueError for anything else.
    """
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text[:40]!r} is not a timestamp like 2023-11-16 18:15:46.6805900")
    base, fraction, zone = match.groups()
    moment = datetime.fromisoformat(base + (zone.replace("Z", "+00:00") if zone else ""))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp()), (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def _csv_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """(line number, the named columns) of each data row; ProblemError when the header lacks a column."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ProblemError(f"{path}: cannot read ({exc})") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader, [])]
            missing = [c for c in columns if c not in header]
            if missing:
                raise ProblemError(f"{path}: the header {header[:6]} lacks the column(s) {', '.join(missing)}")
            indices = [header.index(c) for c in columns]
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    yield reader.line_num, [row[i].strip() if i < len(row) else "" for i in indices]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ProblemError(f"{path}: not a readable CSV file ({exc})") from exc


def _count(path: Path, line: int, text: str) -> int:
    try:
        value = int(float(text)) if "." in text else int(text)
    except ValueError:
        raise ProblemError(f"{path}: line {line}: {text[:20]!r} is not a token count") from None
    if value < 0:
        raise ProblemError(f"{path}: line {line}: negative token count {value}")
    return value


def is_azure_trace(path: Path) -> bool:
    """Whether the file's header is the Azure trace's."""
    return _has_columns(path, AZURE_COLUMNS)


def is_length_trace(path: Path) -> bool:
    """Whether the file's header is the length-trace format's."""
    return _has_columns(path, LENGTH_COLUMNS)


def _has_columns(path: Path, columns: tuple[str, ...]) -> bool:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = [name.strip() for name in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return all(c in header for c in columns)


def load_azure_trace(path: Path) -> Trace:
    """Requests of an Azure LLM inference trace CSV, arrivals in seconds since its first request."""
    path = Path(path)
    whole, fractions, prompt, output = [], [], [], []
    for line, (stamp, context, generated) in _csv_rows(path, AZURE_COLUMNS):
        try:
            seconds, fraction = parse_timestamp(stamp)
        except ValueError as exc:
            raise ProblemError(f"{path}: line {line}: {exc}") from None
        whole.append(seconds)
        fractions.append(fraction)
        prompt.append(_count(path, line, context))
        output.append(_count(path, line, generated))
    if not whole:
        raise ProblemError(f"{path}: no requests")
    first = min(range(len(whole)), key=lambda k: (whole[k], fractions[k]))
    arrivals = (np.asarray(whole, np.int64) - whole[first]) + (np.asarray(fractions) - fractions[first])
    return _make_trace(arrivals, prompt, output)


def load_length_trace(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Prompt and output lengths of a length-trace CSV, in file order (no arrival times in this format)."""
    path = Path(path)
    prompt, output = [], []
    for line, (prefill, decode) in _csv_rows(path, LENGTH_COLUMNS):
        prompt.append(_count(path, line, prefill))
        output.append(_count(path, line, decode))
    if not prompt:
        raise ProblemError(f"{path}: no requests")
    return np.maximum(np.asarray(prompt, np.int64), 1), np.maximum(np.asarray(output, np.int64), 1)


# -- generators ----------------------------------------------------------------------------------------------


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


# Fitted to the Azure 2023 traces: means as published, sigma = std of log lengths (conv 0.99/0.86, code 1.36/0.85).
PRESETS = {
    "conv": LengthPreset(1155, 0.99, 211, 0.86, prompt_max=16384, output_max=2048),
    "code": LengthPreset(2048, 1.36, 28, 0.85, prompt_max=8192, output_max=2048),
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


def synthetic_trace(preset: str | LengthPreset, rate: float, seconds: float, seed: int, cv: float = 1.0) -> Trace:
    """A seeded trace: arrivals at ``rate`` per second (gamma gaps of ``cv``) over ``seconds``, preset lengths."""
    spec = PRESETS[preset] if isinstance(preset, str) else preset
    rng = np.random.default_rng(seed)
    arrivals = generate_arrivals(rate, seconds, rng, cv)
    n = len(arrivals)
    prompt = lognormal_lengths(spec.prompt_mean, spec.prompt_sigma, spec.prompt_max, n, rng)
    output = lognormal_lengths(spec.output_mean, spec.output_sigma, spec.output_max, n, rng)
    return _make_trace(arrivals, prompt, output)


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
        traces.append(_make_trace(arrivals, np.asarray(prompt)[rows], np.asarray(output)[rows]))
    return traces


# -- instance data -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replica:
    """The serving replica and SLOs every instance of the problem shares.

    Attributes:
        cost_model: key of ``problems.serving.cost.COST_MODELS``.
        slo_ttft, slo_tpot: time to first token and time per output token, seconds.
        slo_max_gap: largest gap between two tokens of a request for the reported stall-aware goodput, seconds.
        kv_capacity_tokens: KV cache of the instance; 0 takes the cost model's (the whole GPU).
        max_new_tokens: cap on every output (longer true outputs are cut, as a server's limit would).
        block_size: tokens per KV block.
        drain_seconds: least time after the arrival window before the run stops; the horizon is
            ``duration + max(drain_seconds, 10 * slo_ttft)``, so requests of the window's end can finish.
    """

    cost_model: str = "llama3-8b-h100"
    slo_ttft: float = 2.0
    slo_tpot: float = 0.1
    slo_max_gap: float = 0.5
    kv_capacity_tokens: int = 0
    max_new_tokens: int = 2048
    block_size: int = 16
    drain_seconds: float = 60.0


def servable(prompt: np.ndarray, output: np.ndarray, capacity_tokens: int, block_size: int) -> np.ndarray:
    """Which requests an empty replica could finish: prompt and output together fit in the KV blocks.

    The engine holds a finishing request's last token before freeing it, so ``prompt + output`` tokens must fit
    in ``capacity // block_size`` blocks; no scheduler can serve the others, so they are left out, not failed.
    """
    return prompt + output <= capacity_tokens // block_size * block_size


def instance_data(trace: Trace, duration: float, replica: Replica) -> tuple[dict[str, Any], int]:
    """Plain data of one instance (what ``serving_sim.Workload.from_data`` reads) and the count of requests left
    out as unservable. Outputs are capped at ``max_new_tokens`` first."""
    from problems.serving.hardware import COST_MODELS  # here, so loading traces needs no engine

    cost = COST_MODELS.get(replica.cost_model)
    if cost is None:
        raise ProblemError(f"unknown cost model {replica.cost_model!r}; choose one of {', '.join(COST_MODELS)}")
    capacity = replica.kv_capacity_tokens or cost.kv_capacity_tokens
    output = np.minimum(trace.output, replica.max_new_tokens)
    keep = servable(trace.prompt, output, capacity, replica.block_size)
    arrivals = trace.arrivals[keep]
    if len(arrivals) and not 0 <= arrivals[0] <= arrivals[-1] < duration:
        raise ProblemError(f"arrivals must lie in the window [0, {duration}) s")
    data = {
        "arrivals": arrivals.tolist(),
        "prompt": trace.prompt[keep].tolist(),
        "output": output[keep].tolist(),
        "slo_ttft": float(replica.slo_ttft),
        "slo_tpot": float(replica.slo_tpot),
        "slo_max_gap": float(replica.slo_max_gap),
        "kv_capacity_tokens": int(capacity),
        "max_new_tokens": int(replica.max_new_tokens),
        "cost": cost.to_data(),
        "horizon": float(duration + max(replica.drain_seconds, 10 * replica.slo_ttft)),
        "duration": float(duration),
        "block_size": int(replica.block_size),
    }
    return data, int(len(keep) - keep.sum())
