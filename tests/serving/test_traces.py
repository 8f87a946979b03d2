"""Traces of ``serving``: loaders of the public formats, generators, windows and instance data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from problems.base import ProblemError
from problems.serving import synthetic as sy
from problems.serving import traces as wl
from problems.serving.sim import Workload

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
AZURE = DATA / "azure-llm-trace"
LENGTHS = DATA / "llm-length-traces"

AZURE_CSV = """TIMESTAMP,ContextTokens,GeneratedTokens
2023-11-16 18:15:46.6805900,374,44
2023-11-16 18:15:46.6805901,396,109
2023-11-16 18:15:51.2224670,879,55
2023-11-16 18:15:50.3910170,91,16
"""
LENGTH_CSV = """num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio
74,918,992,0.08
290,905,1195,0.32
1402,0,1402,inf
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _trace(arrivals, prompt, output) -> wl.Trace:
    return wl.Trace(np.asarray(arrivals, float), np.asarray(prompt, np.int64), np.asarray(output, np.int64))


# --- loaders ----------------------------------------------------------------------------------------------


def test_timestamp_keeps_all_seven_fraction_digits():
    whole, fraction = wl.parse_timestamp("2023-11-16 18:15:46.6805901")
    assert fraction == pytest.approx(0.6805901, abs=1e-12)
    assert wl.parse_timestamp("2023-11-16 18:15:47")[0] == whole + 1
    assert wl.parse_timestamp("2023-11-16T18:15:46.5Z") == (whole, 0.5)


@pytest.mark.parametrize("text", ["yesterday", "2023-11-16", "2023-11-16 18:15:46.68x", ""])
def test_timestamp_rejects_what_is_not_one(text):
    with pytest.raises(ValueError):
        wl.parse_timestamp(text)


def test_azure_trace_is_rebased_to_its_first_request_and_sorted(tmp_path):
    trace = wl.load_azure_trace(_write(tmp_path, "t.csv", AZURE_CSV))
    assert trace.arrivals[0] == 0.0
    assert trace.arrivals[1] == pytest.approx(1e-7, abs=1e-9)  # 100 ns apart in the file
    assert trace.arrivals.tolist() == sorted(trace.arrivals.tolist())
    assert trace.prompt.tolist() == [374, 396, 91, 879]  # the out-of-order row moved to its time
    assert trace.output.tolist() == [44, 109, 16, 55]
    assert trace.span() == pytest.approx(51.2224670 - 46.6805900)


def test_azure_loader_names_the_bad_line(tmp_path):
    path = _write(tmp_path, "t.csv", AZURE_CSV + "2023-11-16 18:16:00.0,12x,3\n")
    with pytest.raises(ProblemError, match="line 6"):
        wl.load_azure_trace(path)
    with pytest.raises(ProblemError, match="lacks the column"):
        wl.load_azure_trace(_write(tmp_path, "u.csv", "time,prompt,output\n1,2,3\n"))
    with pytest.raises(ProblemError, match="no requests"):
        wl.load_azure_trace(_write(tmp_path, "v.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"))


def test_length_trace_reads_lengths_and_clamps_zero_outputs(tmp_path):
    path = _write(tmp_path, "l.csv", LENGTH_CSV)
    prompt, output = wl.load_length_trace(path)
    assert prompt.tolist() == [74, 290, 1402]
    assert output.tolist() == [918, 905, 1]
    assert wl.is_length_trace(path) and not wl.is_azure_trace(path)


# --- generators -------------------------------------------------------------------------------------------


def test_poisson_arrivals_have_the_rate_and_stay_in_the_window():
    arrivals = sy.generate_arrivals(10.0, 2000.0, np.random.default_rng(1))
    assert len(arrivals) / 2000.0 == pytest.approx(10.0, rel=0.03)
    assert arrivals.min() >= 0 and arrivals.max() < 2000.0
    assert np.all(np.diff(arrivals) >= 0)
    gaps = np.diff(arrivals)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("cv", [0.5, 2.0, 4.0])
def test_gamma_arrivals_have_the_coefficient_of_variation(cv):
    arrivals = sy.generate_arrivals(5.0, 20000.0, np.random.default_rng(2), cv)
    gaps = np.diff(arrivals)
    assert gaps.std() / gaps.mean() == pytest.approx(cv, rel=0.1)
    assert len(arrivals) / 20000.0 == pytest.approx(5.0, rel=0.1)


def test_arrivals_reject_nonpositive_parameters():
    with pytest.raises(ValueError):
        sy.generate_arrivals(0.0, 10.0, np.random.default_rng(0))


@pytest.mark.parametrize("name", ["conv", "code"])
def test_preset_lengths_have_the_azure_means(name):
    preset = sy.PRESETS[name]
    rng = np.random.default_rng(3)
    prompt = sy.lognormal_lengths(preset.prompt_mean, preset.prompt_sigma, preset.prompt_max, 200_000, rng)
    output = sy.lognormal_lengths(preset.output_mean, preset.output_sigma, preset.output_max, 200_000, rng)
    assert prompt.mean() == pytest.approx(preset.prompt_mean, rel=0.02)
    assert output.mean() == pytest.approx(preset.output_mean, rel=0.03)
    assert prompt.min() >= 1 and prompt.max() <= preset.prompt_max
    assert np.log(output).std() == pytest.approx(preset.output_sigma, rel=0.1)


def test_synthetic_trace_is_seeded():
    a = sy.synthetic_trace("conv", 4.0, 120.0, seed=5)
    b = sy.synthetic_trace("conv", 4.0, 120.0, seed=5)
    c = sy.synthetic_trace("conv", 4.0, 120.0, seed=6)
    assert all(np.array_equal(x, y) for x, y in zip((a.arrivals, a.prompt, a.output), (b.arrivals, b.prompt, b.output)))
    assert not np.array_equal(a.arrivals[:10], c.arrivals[:10])
    assert a.arrivals.max() < 120.0 and len(a) == pytest.approx(480, rel=0.25)


def test_windows_are_rebased_and_partition_the_trace():
    trace = sy.synthetic_trace("code", 5.0, 100.0, seed=7)
    first, second = trace.window(0.0, 50.0), trace.window(50.0, 50.0)
    assert len(first) + len(second) == len(trace)
    assert first.arrivals.max() < 50.0 and second.arrivals.min() >= 0.0
    assert np.allclose(second.arrivals + 50.0, trace.arrivals[len(first) :])
    assert np.array_equal(second.prompt, trace.prompt[len(first) :])


def test_compression_multiplies_the_rate():
    trace = sy.synthetic_trace("conv", 2.0, 100.0, seed=8)
    fast = trace.compressed(2.0)
    assert np.allclose(fast.arrivals * 2.0, trace.arrivals)
    assert np.array_equal(fast.output, trace.output)
    with pytest.raises(ValueError):
        trace.compressed(0.0)


def test_length_trace_windows_use_each_row_once_before_cycling():
    prompt, output = np.arange(1, 10_001), np.arange(10_001, 20_001)
    traces = sy.length_trace_windows(prompt, output, 5.0, 100.0, 3, seed=9)
    rows = np.concatenate([t.prompt for t in traces])
    assert len(rows) == len(set(rows.tolist()))
    assert all(np.array_equal(t.output - t.prompt, np.full(len(t), 10_000)) for t in traces)  # pairs kept
    again = sy.length_trace_windows(prompt, output, 5.0, 100.0, 3, seed=9)
    assert all(np.array_equal(a.arrivals, b.arrivals) for a, b in zip(traces, again))


# --- instance data ----------------------------------------------------------------------------------------


def test_instance_data_caps_outputs_and_leaves_out_unservable_requests():
    trace = _trace([0.0, 1.0, 2.0, 3.0], [100, 250, 200, 40], [10, 10, 5000, 4000])
    replica = wl.Replica(kv_capacity_tokens=260, max_new_tokens=100, slo_ttft=2.0, drain_seconds=30.0)
    data, unservable = wl.instance_data(trace, 10.0, replica)
    # 260 tokens = 16 blocks of 16 = 256 tokens: 250 + 10 does not fit; 200 + 100 (capped) does not either.
    assert unservable == 2
    assert data["prompt"] == [100, 40] and data["output"] == [10, 100] and data["arrivals"] == [0.0, 3.0]
    assert data["horizon"] == 40.0 and data["duration"] == 10.0
    workload = Workload.from_data(data)
    assert workload.kv_capacity_tokens == 260 and workload.cost.name == "llama3-8b-h100"


def test_instance_data_takes_the_gpus_cache_by_default_and_names_unknown_cost_models():
    data, _ = wl.instance_data(_trace([0.0], [10], [5]), 5.0, wl.Replica(slo_ttft=10.0))
    assert data["kv_capacity_tokens"] == data["cost"]["kv_capacity_tokens"]
    # The last request may take slo_ttft + max_new_tokens * slo_tpot and still meet its SLOs; that beats 60 s.
    assert data["horizon"] == pytest.approx(5.0 + 10.0 + 2048 * 0.1)
    with pytest.raises(ProblemError, match="unknown cost model"):
        wl.instance_data(_trace([0.0], [10], [5]), 5.0, wl.Replica(cost_model="gpt-9"))


# --- real data (read from ../shared/data when present) ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows", "prompt_mean", "output_mean"), [("conv", 19366, 1155, 211), ("code", 8819, 2048, 28)]
)
def test_real_azure_traces_load(name, rows, prompt_mean, output_mean):
    path = AZURE / f"AzureLLMInferenceTrace_{name}.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent (download it from GitHub Azure/AzurePublicDataset, data/)")
    trace = wl.load_azure_trace(path)
    assert len(trace) == rows
    assert trace.prompt.mean() == pytest.approx(prompt_mean, abs=1)
    assert trace.output.mean() == pytest.approx(output_mean, abs=1)
    assert trace.arrivals[0] == 0.0 and 3000 < trace.span() < 3600


def test_real_length_traces_load():
    files = sorted(LENGTHS.glob("*.csv")) if LENGTHS.is_dir() else []
    if not files:
        pytest.skip(f"no length traces in {LENGTHS} (from microsoft/sarathi-serve and microsoft/vidur)")
    for path in files:
        prompt, output = wl.load_length_trace(path)
        assert len(prompt) > 20_000 and prompt.min() >= 1 and output.min() >= 1


def test_conversations_grow_their_context_turn_after_turn_at_the_requested_rate():
    spec = sy.PRESETS["multiturn"]
    trace = sy.synthetic_trace("multiturn", 6.0, 1200.0, seed=21)
    assert len(trace) / 1200.0 == pytest.approx(6.0, rel=0.1)  # opens in steady state
    # A turn's prompt holds the conversation so far: far above one system prompt plus one message.
    assert trace.prompt.mean() > 2 * (spec.system_mean + spec.message_mean)
    assert trace.prompt.max() <= spec.prompt_max and trace.output.max() <= spec.output_max
    assert np.all(np.diff(trace.arrivals) >= 0)


def test_uniform_preset_draws_within_its_ranges():
    trace = sy.synthetic_trace("decode-heavy", 2.0, 500.0, seed=22)
    assert trace.prompt.min() >= 32 and trace.prompt.max() <= 4096
    assert trace.output.min() >= 2048 and trace.output.max() <= 4096
