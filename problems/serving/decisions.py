"""Decisions of a scheduler, from a policy's return value or from an untrusted log, in one normalized form.

A decision is `(chunks, preempts)`: `[(id, tokens), ...]` and `[id, ...]`, plain ints, in the order given.
These functions check shapes and types only; whether a decision is feasible is the engine's call.
A policy may return numpy integers (normalized here); a log, being JSON, must hold exact ints.
"""

from __future__ import annotations

import operator
from typing import Any

Decision = tuple[list[tuple[int, int]], list[int]]
EMPTY: Decision = ([], [])


class Reject(Exception):
    """A reason a decision is infeasible, without the iteration number, which only the engine's loop knows."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_int(value: Any, what: str) -> int:
    """A policy's int: Python ints and integer-like scalars (numpy's) pass; bools, floats and the rest do not."""
    if type(value) is int:
        return value
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise Reject(f"{what} {_show(value)} is a {type(value).__name__}, not an int")


def from_decision(decision: Any) -> Decision:
    """A policy's decision in the normalized form, its types checked (its feasibility is the engine's job)."""
    if decision is None:
        return EMPTY
    if not isinstance(decision, dict):
        raise Reject(f"the scheduler returned a {type(decision).__name__}, not a dict or None")
    unknown = [k for k in decision if k not in ("prefill", "preempt")]
    if unknown:
        raise Reject(f"unknown key {_show(unknown[0])} in the decision (expected 'prefill', 'preempt')")
    prefill, preempt = decision.get("prefill"), decision.get("preempt")
    chunks = []
    if prefill is not None:
        if isinstance(prefill, dict):
            items = prefill.items()
        elif isinstance(prefill, (list, tuple)):
            items = prefill
            for pair in items:
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise Reject(f"prefill entry {_show(pair)} is not an [id, tokens] pair")
        else:
            raise Reject(f"'prefill' is a {type(prefill).__name__}, not a dict or a list of [id, tokens]")
        chunks = [(_as_int(rid, "request id"), _as_int(tokens, "chunk size")) for rid, tokens in items]
    preempts = []
    if preempt is not None:
        if not isinstance(preempt, (list, tuple, set, frozenset, range)):
            raise Reject(f"'preempt' is a {type(preempt).__name__}, not a list of ids")
        preempts = [_as_int(rid, "preempted id") for rid in preempt]
    return chunks, preempts


def _log_int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise Reject(f"{what} {_show(value)} in the log is a {type(value).__name__}, not an int")
    return value


def from_log_entry(entry: Any) -> Decision:
    """A log entry, untrusted JSON, checked for shape and exact types."""
    if entry.__class__ is list and len(entry) == 2:  # the common case in one pass: a replay's and a session's hot path
        chunks, preempts = entry
        if chunks.__class__ is list and preempts.__class__ is list:
            decision = []
            for pair in chunks:
                if pair.__class__ is not list or len(pair) != 2:
                    break
                rid, tokens = pair
                if rid.__class__ is not int or tokens.__class__ is not int:
                    break
                decision.append((rid, tokens))
            else:
                for rid in preempts:
                    if rid.__class__ is not int:
                        break
                else:
                    return decision, preempts
    return _checked_log_entry(entry)


def _checked_log_entry(entry: Any) -> Decision:
    """``from_log_entry`` the long way, naming what is wrong."""
    if type(entry) not in (list, tuple) or len(entry) != 2 or any(type(p) not in (list, tuple) for p in entry):
        raise Reject(f"log entry {_show(entry)} is not a pair [[[id, tokens], ...], [preempted ids]]")
    chunks = []
    for pair in entry[0]:
        if type(pair) not in (list, tuple) or len(pair) != 2:
            raise Reject(f"log chunk {_show(pair)} is not an [id, tokens] pair")
        chunks.append((_log_int(pair[0], "request id"), _log_int(pair[1], "chunk size")))
    return chunks, [_log_int(rid, "preempted id") for rid in entry[1]]
