"""Runs a candidate rebalancer on one instance inside the sandbox. numpy and the standard library only.

The load history arrives packed (``encode_loads``) so that a DeepSeek-V3-sized history costs a millisecond to
pass, not the tens a JSON list of a million numbers would: the candidate's time, measured by the sandbox server
around this call, is then mostly the candidate's own. The plan goes back unvalidated, as plain lists; the
trusted verifier judges it.
"""

import base64

import numpy as np


def encode_loads(loads) -> dict:
    """A load array as plain JSON data: dtype, shape and the base64 of its little-endian bytes."""
    loads = np.asarray(loads)
    dtype = "<i4" if loads.size == 0 or (loads.min() >= -(2**31) and loads.max() < 2**31) else "<i8"
    packed = np.ascontiguousarray(loads, dtype=dtype)
    return {"dtype": dtype, "shape": list(packed.shape), "base64": base64.b64encode(packed.tobytes()).decode()}


def decode_loads(packed: dict) -> np.ndarray:
    """The int64 array of ``encode_loads``'s output (a fresh, writable copy)."""
    raw = np.frombuffer(base64.b64decode(packed["base64"]), dtype=packed["dtype"])
    return raw.reshape(packed["shape"]).astype(np.int64)


def _plain(value):
    """numpy arrays and scalars (also inside lists) as lists and Python numbers; anything else as it is."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def run(candidate: object, data: dict) -> object:
    """Call ``candidate.rebalance(history, cluster)`` and return its plan as plain data."""
    rebalance = getattr(candidate, "rebalance", None)
    if not callable(rebalance):
        raise AttributeError("candidate defines no function rebalance(history, cluster) returning a plan")
    plan = rebalance(decode_loads(data["history"]), dict(data["cluster"]))
    if isinstance(plan, dict):
        return {str(key): _plain(value) for key, value in plan.items()}
    return _plain(plan)  # not a plan: passed through so that the verifier can say what it is
