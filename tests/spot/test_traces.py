"""Spot traces: the SkyPilot loader under both conventions, and the synthetic generator fitted to real traces."""

from __future__ import annotations

import json
import statistics

import pytest

from problems.base import ProblemError
from problems.registry import load
from problems.spot.synthetic import Lifetimes, fit_lifetimes, periods, synthetic_trace
from problems.spot.traces import load_trace, load_trace_dir, parse_trace, traces_dir

RAW = {"metadata": {"gap_seconds": 600}, "data": [1, 0, 0, 1, 1]}


def test_skypilot_traces_count_available_instances():
    trace = parse_trace({"metadata": {"gap_seconds": 300}, "data": [1, 0, 2, 0]}, "t", "available")
    assert (trace.available, trace.gap_seconds, trace.ticks) == ("1010", 300.0, 4)


def test_the_inverted_convention_reads_one_as_preempted():
    assert parse_trace(RAW, "t", "preempted").available == "01100"
    assert parse_trace(RAW, "t", "available").available == "10011"


def test_the_convention_must_be_named_and_known():
    with pytest.raises(ProblemError, match="unknown trace convention 'inverse'"):
        parse_trace(RAW, "t", "inverse")
    with pytest.raises(ProblemError, match="holds only 0 and 1"):
        parse_trace({"metadata": {"gap_seconds": 600}, "data": [0, 2]}, "t", "preempted")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"data": [1]}, "not a SkyPilot spot trace"),
        ([1, 0], "not a SkyPilot spot trace"),
        ({"metadata": {"gap_seconds": 0}, "data": [1]}, "gap_seconds must be a positive number"),
        ({"metadata": {"gap_seconds": float("nan")}, "data": [1]}, "gap_seconds must be a positive number"),
        ({"metadata": {"gap_seconds": 600}, "data": []}, "no data"),
        ({"metadata": {"gap_seconds": 600}, "data": [1, True]}, "non-negative ints, found True"),
        ({"metadata": {"gap_seconds": 600}, "data": [1, -1]}, "found -1"),
        ({"metadata": {"gap_seconds": 600}, "data": [1, 0.5]}, "found 0.5"),
    ],
)
def test_malformed_traces_are_one_clear_error(raw, message):
    with pytest.raises(ProblemError, match=message):
        parse_trace(raw, "t", "available")


def test_files_and_folders_load_by_name(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(RAW))
    (tmp_path / "b.json").write_text("{not json")
    assert load_trace(tmp_path / "a.json", "available").name == "a"
    with pytest.raises(ProblemError, match="b.json: cannot read a spot trace"):
        load_trace_dir(tmp_path, "available")
    with pytest.raises(ProblemError, match="no \\*.json spot traces"):
        load_trace_dir(tmp_path / "missing", "available")


def test_a_window_past_the_end_of_a_trace_is_short():
    trace = parse_trace(RAW, "t", "available")
    assert trace.window(3, 10) == "11"


# --- synthetic traces ---------------------------------------------------------------------------------------


def test_periods_alternate_in_order_of_appearance():
    assert periods("1100011101") == ([2, 3, 1], [3, 1])


def test_fitting_needs_both_kinds_of_period():
    with pytest.raises(ProblemError, match="both available and unavailable"):
        fit_lifetimes("1111")


def test_synthetic_traces_are_deterministic_and_seeded():
    lifetimes = Lifetimes(2.0, 1.5, 0.5, 0.8)
    assert synthetic_trace(lifetimes, 500, 1) == synthetic_trace(lifetimes, 500, 1)
    assert synthetic_trace(lifetimes, 500, 1) != synthetic_trace(lifetimes, 500, 2)
    assert len(synthetic_trace(lifetimes, 500, 1)) == 500


def test_a_long_synthetic_trace_follows_its_lifetimes():
    lifetimes = Lifetimes(1.6, 1.1, 1.1, 1.1)
    trace = synthetic_trace(lifetimes, 200_000, 0)
    refit = fit_lifetimes(trace)
    # Lengths are rounded to whole ticks (at least 1), which shifts the fitted moments a little.
    assert refit.up_mu == pytest.approx(lifetimes.up_mu, abs=0.2)
    assert refit.down_sigma == pytest.approx(lifetimes.down_sigma, abs=0.2)
    assert trace.count("1") / len(trace) == pytest.approx(lifetimes.availability(), abs=0.02)


def test_the_fit_keeps_the_mean_period_lengths_and_so_the_availability():
    # Periods of 1, 1, 1, 1 and 36 ticks up, 2 ticks down: mean lengths 8 and 2, so 80% available.
    trace = "".join("1" * n + "00" for n in (1, 1, 1, 1, 36))
    fit = fit_lifetimes(trace)
    assert fit.mean_up() == pytest.approx(8.0) and fit.mean_down() == pytest.approx(2.0)
    assert fit.availability() == pytest.approx(0.8)


@pytest.fixture(scope="module")
def real_traces():
    folder = traces_dir()
    if folder is None:
        pytest.skip("the SkyPilot spot traces are not in ../shared/data/spot-traces (or $ADRS_SPOT_TRACES)")
    return load_trace_dir(folder, "available")


def test_the_public_traces_are_eight_of_3895_ticks_of_ten_minutes(real_traces):
    assert len(real_traces) == 8
    assert {(t.ticks, t.gap_seconds) for t in real_traces.values()} == {(3895, 600.0)}


def test_the_stored_lifetimes_are_the_fits_of_the_public_traces(real_traces):
    stored = load("spot").spec.options["lifetimes"]
    assert set(stored) == set(real_traces)
    for name, trace in real_traces.items():
        fit = fit_lifetimes(trace.available)
        assert stored[name]["up"] == pytest.approx([fit.up_mu, fit.up_sigma], abs=1e-4)
        assert stored[name]["down"] == pytest.approx([fit.down_mu, fit.down_sigma], abs=1e-4)


def test_synthetic_stand_ins_are_as_available_as_the_real_traces(real_traces):
    for name, trace in real_traces.items():
        fit = fit_lifetimes(trace.available)
        shares = [synthetic_trace(fit, trace.ticks, seed).count("1") / trace.ticks for seed in range(10)]
        assert statistics.mean(shares) == pytest.approx(trace.available.count("1") / trace.ticks, abs=0.05), name


def test_synthetic_stand_ins_are_preempted_as_often_as_the_real_traces(real_traces):
    # One log-normal cannot match both the median and the mean of such heavy tails; the mean lengths set how
    # often spot is lost per tick, which is what a policy pays for.
    for name, trace in real_traces.items():
        synthetic = synthetic_trace(fit_lifetimes(trace.available), 100_000, 0)
        real_rate = len(periods(trace.available)[1]) / trace.ticks
        fake_rate = len(periods(synthetic)[1]) / len(synthetic)
        assert fake_rate == pytest.approx(real_rate, rel=0.25), name
