"""Statistics of expert-load traces ``[window, layer, expert]``: skew, drift, layer coupling and bursts.

Used by the tests to check that generated traces have the structure ``loads.LoadModel`` promises, and by users
to compare a generated trace with a recorded one. Correlations are taken across the experts of one layer, on
shares (an expert's tokens over the layer's), and averaged; rows without any spread are skipped.
"""

from __future__ import annotations

import math

import numpy as np

_FAR_LAYERS = 8  # distance of the "far" layer correlation in `summary`
_LONG_LAG = 8  # lag of the long window autocorrelation in `summary`


def _shares(loads: np.ndarray) -> np.ndarray:
    total = loads.sum(axis=-1, keepdims=True).astype(np.float64)
    return loads / np.maximum(total, 1.0)


def _mean_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows of the Pearson correlation across the last axis; rows without spread are skipped."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    ok = norm > 0
    return float(((a * b).sum(axis=-1)[ok] / norm[ok]).mean()) if ok.any() else math.nan


def window_correlation(loads: np.ndarray, lag: int = 1) -> float:
    """Mean correlation across experts of a layer's shares in window ``w`` and ``w + lag`` (NaN if too short)."""
    s = _shares(np.asarray(loads))
    return _mean_corr(s[:-lag], s[lag:]) if 0 < lag < s.shape[0] else math.nan


def layer_correlation(loads: np.ndarray, distance: int = 1) -> float:
    """Mean correlation across experts of the shares of layers ``l`` and ``l + distance`` in one window."""
    s = _shares(np.asarray(loads))
    return _mean_corr(s[:, :-distance], s[:, distance:]) if 0 < distance < s.shape[1] else math.nan


def jump_rate(loads: np.ndarray, jump: float = 2.0) -> float:
    """Share of (window >= 1, layer, expert) cells whose share became at least ``jump`` times its previous one
    and at least the mean share: burst starts, as seen in the loads (NaN for a single window)."""
    s = _shares(np.asarray(loads))
    if s.shape[0] < 2:
        return math.nan
    jumped = (s[1:] >= jump * s[:-1]) & (s[1:] >= 1.0 / s.shape[-1]) & (s[1:] > 0)
    return float(jumped.mean())


def summary(loads: np.ndarray) -> dict[str, float]:
    """Statistics of a trace (NaN where it is too small for one).

    Keys: ``max_mean`` (mean over windows and layers of the max/mean expert load), ``autocorr_lag1`` and
    ``autocorr_lag8`` (``window_correlation`` at lags 1 and 8: drift shows as the second below the first),
    ``layer_corr_adjacent`` and ``layer_corr_far`` (``layer_correlation`` at distances 1 and 8),
    ``jump_rate`` (``jump_rate`` at 2x: about the burst rate when ``burst_factor`` > 2), and ``zero_share``
    (fraction of cells with no tokens).
    """
    loads = np.asarray(loads)
    mean = loads.mean(axis=-1)
    ok = mean > 0
    return {
        "max_mean": float((loads.max(axis=-1)[ok] / mean[ok]).mean()) if ok.any() else math.nan,
        "autocorr_lag1": window_correlation(loads, 1),
        "autocorr_lag8": window_correlation(loads, _LONG_LAG),
        "layer_corr_adjacent": layer_correlation(loads, 1),
        "layer_corr_far": layer_correlation(loads, _FAR_LAYERS),
        "jump_rate": jump_rate(loads),
        "zero_share": float((loads == 0).mean()),
    }
