"""Request traces of ``serving``: loaded or generated, cut into windows, turned into instance data.

A trace is three aligned arrays: arrival times in seconds, prompt lengths and true output lengths in tokens.
Sources, all in their public formats:

- the Azure LLM inference trace 2023 (``TIMESTAMP,ContextTokens,GeneratedTokens``; Splitwise, ISCA'24), real
  arrivals and lengths, downloaded from GitHub ``Azure/AzurePublicDataset``;
- length-only traces (``num_prefill_tokens,num_decode_tokens,...``: ShareGPT and arXiv summarization as
  processed by ``microsoft/sarathi-serve`` and ``microsoft/vidur``), paired with generated arrivals;
- generated ones (``problems/serving/synthetic.py``: the repository ships no data).

``instance_data`` turns a window of a trace into the data of one instance on a replica.
"""

from __future__ import annotations

import csv
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


def make_trace(arrivals: Any, prompt: Any, output: Any) -> Trace:
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
    return make_trace(arrivals, prompt, output)


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
            ``duration + max(drain_seconds, slo_ttft + max_new_tokens * slo_tpot)``, so that the window's last
            request, however long its answer, can still finish within its SLOs.
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
        "horizon": float(
            duration + max(replica.drain_seconds, replica.slo_ttft + replica.max_new_tokens * replica.slo_tpot)
        ),
        "duration": float(duration),
        "block_size": int(replica.block_size),
    }
    return data, int(len(keep) - keep.sum())
