"""Trusted solvers for 1||Σw_jT_j: the objective, an exact subset DP, and a strong heuristic reference.

Everything here runs in the trusted framework process and never sees candidate code. The DP gives proven
optima up to about 20 jobs; beyond that ``improved_reference`` gives a computed upper bound (not an optimum).

Measured on the 2-core development machine: ``optimal_twt`` at n=20 takes about 0.1 s; ``improved_reference``
at n=50 about 0.3-0.5 s, at n=100 2-4 s (the generated splits' values are shipped, ``references.py``).
OR-Tools CP-SAT hinted with the local-search sequence was tried as a polish step (1.5 s, 2 workers, 25
instances at n=50) and improved none of them, so it is not used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from problems.base import ProblemError

MAX_DP_JOBS = 22  # 2^22 states of int64 is ~100 MB across the DP's arrays; beyond that it stops being cheap
# Objective values must stay below this so sums and the "unreached" sentinel never overflow int64.
_INT64_SAFE = 1 << 61
_UNREACHED = np.int64(1) << 62
ATC_LOOK_AHEADS = (0.5, 1.0, 2.0, 3.0)
_PERTURBATIONS = 1000  # iterated-local-search kicks; a fixed count keeps references identical across machines


def total_weighted_tardiness(p: Sequence[int], w: Sequence[int], d: Sequence[int], seq: Sequence[int]) -> int:
    """Σ w_j max(0, C_j - d_j) of the jobs processed in the order ``seq`` from time 0 (exact integers)."""
    t = 0
    total = 0
    for j in seq:
        t += p[j]
        if t > d[j]:
            total += w[j] * (t - d[j])
    return total


def _check_magnitude(p: Sequence[int], w: Sequence[int], d: Sequence[int]) -> None:
    # The vectorised solvers use int64; refuse inputs whose worst schedule could overflow it.
    worst = sum(w) * max(sum(p) - min(d, default=0), 0)
    if worst >= _INT64_SAFE or any(x < 0 for x in p) or any(x < 0 for x in w):
        raise ProblemError("instance values out of range for the exact solvers (negative p/w or sums >= 2^61)")


def _subset_tables(p: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Total processing time P(S) and popcount of every subset mask S, built by doubling."""
    n = len(p)
    total = np.zeros(1 << n, np.int64)
    count = np.zeros(1 << n, np.int8)
    for j in range(n):
        half = 1 << j
        total[half : 2 * half] = total[:half] + p[j]
        count[half : 2 * half] = count[:half] + 1
    return total, count


def optimal_twt(p: Sequence[int], w: Sequence[int], d: Sequence[int]) -> tuple[int, list[int]]:
    """The optimum Σw_jT_j and an optimal sequence, by dynamic programming over subsets of jobs.

    f[S] = min over j in S of f[S minus j] + w_j * max(0, P(S) - d_j): job j is the last of S, ending at P(S).
    Subsets are processed one popcount layer at a time so each layer is a handful of numpy operations.
    """
    n = len(p)
    if n > MAX_DP_JOBS:
        raise ProblemError(f"exact DP handles at most {MAX_DP_JOBS} jobs, got {n}")
    if n == 0:
        return 0, []
    _check_magnitude(p, w, d)
    total, count = _subset_tables(p)
    layers = np.argsort(count, kind="stable")
    sizes = np.bincount(count, minlength=n + 1)
    f = np.full(1 << n, _UNREACHED, np.int64)
    f[0] = 0
    start = 1
    for k in range(1, n + 1):
        layer = layers[start : start + sizes[k]]
        start += sizes[k]
        finish = total[layer]
        best = np.full(len(layer), _UNREACHED, np.int64)
        for j in range(n):
            # Clearing bit j of a mask without it gives the mask itself, still unreached in this layer,
            # so no boolean selection is needed: those candidates lose the minimum on their own.
            cand = f[layer & ~(1 << j)] + w[j] * np.maximum(finish - d[j], 0)
            np.minimum(best, cand, out=best)
        f[layer] = best
    return int(f[-1]), _backtrack(f, total, p, w, d)


def _backtrack(f: np.ndarray, total: np.ndarray, p: Sequence[int], w: Sequence[int], d: Sequence[int]) -> list[int]:
    """An optimal sequence read back from the DP table: repeatedly find a job that can end the set."""
    n = len(p)
    mask = (1 << n) - 1
    reverse = []
    while mask:
        end = int(total[mask])
        for j in range(n):
            bit = 1 << j
            if mask & bit and int(f[mask]) == int(f[mask ^ bit]) + w[j] * max(0, end - d[j]):
                reverse.append(j)
                mask ^= bit
                break
    return reverse[::-1]


def _dispatch(p: np.ndarray, index: Callable[[int, np.ndarray], np.ndarray]) -> list[int]:
    """Dynamic dispatching: whenever the machine frees up, start the waiting job of highest index."""
    left = np.ones(len(p), bool)
    t = 0
    order = []
    for _ in range(len(p)):
        j = int(np.argmax(np.where(left, index(t, left), -np.inf)))
        order.append(j)
        left[j] = False
        t += int(p[j])
    return order


def constructive_sequences(p: Sequence[int], w: Sequence[int], d: Sequence[int]) -> dict[str, list[int]]:
    """Sequences of the classic rules: EDD, WSPT, MDD, weighted MDD and ATC at several look-aheads."""
    pa, wa, da = (np.asarray(x, np.int64) for x in (p, w, d))
    pf = np.maximum(pa, 1e-9)  # zero times or weights would divide by zero; they only occur in user files
    wf = np.maximum(wa, 1e-9)
    log_ratio = np.log(wf) - np.log(pf)
    rules = {
        "edd": [int(j) for j in np.argsort(da, kind="stable")],
        "wspt": [int(j) for j in np.argsort(-(wf / pf), kind="stable")],
        "mdd": _dispatch(pa, lambda t, left: -np.maximum(pa, da - t).astype(float)),
        "wmdd": _dispatch(pa, lambda t, left: -np.maximum(pa, da - t) / wf),
    }
    for k in ATC_LOOK_AHEADS:
        # The log of the ATC index orders jobs the same way and cannot underflow to a tie at large slack.
        def atc(t: int, left: np.ndarray, k: float = k) -> np.ndarray:
            return log_ratio - np.maximum(da - pa - t, 0) / (k * max(float(pa[left].mean()), 1e-9))

        rules[f"atc{k:g}"] = _dispatch(pa, atc)
    return rules


def _best_insertion(pa: np.ndarray, wa: np.ndarray, da: np.ndarray, seq: np.ndarray) -> tuple[int, int, int]:
    """The best insertion move of ``seq``: (new value, position removed, original position inserted before).

    All n x (n+1) moves are priced at once: removing position i shifts later jobs earlier by p_i; inserting
    before position q shifts the jobs from q on later by p_i. Moving a job one place is the adjacent
    pairwise interchange, so this neighbourhood contains that one.
    """
    n = len(seq)
    ps, ws, ds = pa[seq], wa[seq], da[seq]
    ends = np.cumsum(ps)
    pos = np.arange(n)
    moved = ps[:, None]
    kept = pos[None, :] != pos[:, None]
    reduced = ends[None, :] - (pos[None, :] > pos[:, None]) * moved
    before = ws * np.maximum(reduced - ds, 0) * kept
    after = ws * np.maximum(reduced + moved - ds, 0) * kept
    zero = np.zeros((n, 1), np.int64)
    head = np.concatenate([zero, np.cumsum(before, axis=1)], axis=1)
    tail = np.concatenate([np.cumsum(after[:, ::-1], axis=1)[:, ::-1], zero], axis=1)
    slot = np.arange(n + 1)[None, :]
    start = np.concatenate([[0], ends])[None, :] - ((slot - 1 >= pos[:, None]) & (slot >= 1)) * moved
    own = ws[:, None] * np.maximum(start + moved - ds[:, None], 0)
    cost = head + own + tail
    flat = int(np.argmin(cost))
    i, q = divmod(flat, n + 1)
    return int(cost[i, q]), i, q


def _local_search(pa: np.ndarray, wa: np.ndarray, da: np.ndarray, seq: list[int], value: int) -> tuple[int, list[int]]:
    """Best-improvement insertion descent to a local optimum."""
    while len(seq) > 1:
        new, i, q = _best_insertion(pa, wa, da, np.asarray(seq))
        if new >= value:
            break
        job = seq.pop(i)
        seq.insert(q - 1 if q > i else q, job)
        value = new
    return value, seq


def improved_reference(
    p: Sequence[int], w: Sequence[int], d: Sequence[int], time_limit_s: float = 60.0
) -> tuple[int, list[int]]:
    """A computed reference (an upper bound, not an optimum) for instances too large for the DP.

    Every constructive rule is improved by insertion local search, then the best is refined by an iterated
    local search (two random swaps and descent, accepting ties) with a fixed number of kicks and a seeded
    generator, so the result does not depend on the machine. ``time_limit_s`` is only a safety stop, and it
    fails loudly (ProblemError): a reference cut short would depend on the machine's load.
    """
    _check_magnitude(p, w, d)
    deadline = time.perf_counter() + time_limit_s
    pa, wa, da = (np.asarray(x, np.int64) for x in (p, w, d))
    best_value, best_seq = -1, []
    for seq in constructive_sequences(p, w, d).values():
        value, seq = _local_search(pa, wa, da, seq, total_weighted_tardiness(p, w, d, seq))
        if best_value < 0 or value < best_value:
            best_value, best_seq = value, seq
    n = len(p)
    rng = np.random.default_rng(0)
    for _ in range(_PERTURBATIONS if n > 1 else 0):
        if best_value == 0:
            break
        if time.perf_counter() > deadline:
            raise ProblemError(
                f"the reference of a {n}-job instance needs more than its safety stop of {time_limit_s:g} s; "
                "raise reference_seconds in the problem's [options]"
            )
        seq = list(best_seq)
        for a, b in rng.integers(0, n, (2, 2)):
            seq[a], seq[b] = seq[b], seq[a]
        value, seq = _local_search(pa, wa, da, seq, total_weighted_tardiness(p, w, d, seq))
        if value <= best_value:
            best_value, best_seq = value, seq
    return total_weighted_tardiness(p, w, d, best_seq), best_seq
