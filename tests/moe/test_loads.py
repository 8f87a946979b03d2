"""Expert-load traces of ``moe``: the cluster, presets, the generator's structure, statistics and trace files."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from problems.base import ProblemError
from problems.moe import loads as ml


def _with(preset: str, **knobs) -> ml.Preset:
    """The preset with some load-model knobs changed."""
    spec = ml.PRESETS[preset]
    return replace(spec, load_model=replace(spec.load_model, **knobs))


@pytest.fixture(scope="module")
def deepseek() -> np.ndarray:
    return ml.generate("deepseek-v3", 32, 0)


# --- cluster and presets ------------------------------------------------------------------------------------


def test_cluster_derives_per_gpu_node_and_group_sizes():
    cluster = ml.PRESETS["deepseek-v3"].cluster
    assert (cluster.slots_per_gpu, cluster.gpus_per_node, cluster.experts_per_group) == (5, 8, 32)


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"slots": 6}, "slot per expert"),
        ({"slots": 10}, "over 4 GPUs"),
        ({"nodes": 3}, "over 3 nodes"),
        ({"groups": 3}, "into 3 groups"),
        ({"gpus": 0}, "positive integer"),
        ({"layers": 2.0}, "positive integer"),
        ({"experts": True}, "positive integer"),
    ],
)
def test_cluster_rejects_shapes_no_plan_can_fill(fields, reason):
    good = {"layers": 2, "experts": 8, "slots": 12, "gpus": 4, "nodes": 2, "groups": 4}
    with pytest.raises(ValueError, match=reason):
        ml.Cluster(**{**good, **fields})


def test_cluster_round_trips_through_a_plain_dict_and_ignores_derived_keys():
    cluster = ml.PRESETS["qwen3-moe"].cluster
    data = cluster.to_dict()
    assert set(data) == {"layers", "experts", "slots", "gpus", "nodes", "groups"}
    assert ml.Cluster.from_dict({**data, "slots_per_gpu": 10, "hierarchical": True}) == cluster
    with pytest.raises(ValueError, match="lacks groups"):
        ml.Cluster.from_dict({k: v for k, v in data.items() if k != "groups"})


PRESETS = ml.PRESETS.items()


def test_presets_have_the_contracts_shapes():
    shapes = {
        name: (p.cluster.layers, p.cluster.experts, p.cluster.slots, p.cluster.gpus) for name, p in ml.PRESETS.items()
    }
    assert shapes["deepseek-v3"] == (58, 256, 320, 64)
    assert shapes["mixtral-8x7b"] == (32, 8, 16, 8)
    assert shapes["qwen3-moe"] == (48, 128, 160, 16)
    assert ml.get_preset("mixtral-8x7b").top_k == 2
    with pytest.raises(ProblemError, match="deepseek-v3"):
        ml.get_preset("gpt-5")


@pytest.mark.parametrize("knob", [{"skew": -0.1}, {"drift": 1.5}, {"layer_rho": float("nan")}, {"burst_windows": 0.5}])
def test_load_model_rejects_knobs_out_of_range(knob):
    with pytest.raises(ValueError, match=next(iter(knob))):
        ml.LoadModel(**knob)


# --- generator ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ml.PRESETS))
def test_every_preset_routes_exactly_top_k_tokens_per_token(name):
    spec = ml.PRESETS[name]
    loads = ml.generate(name, 3, 1, layers=2)
    assert loads.dtype == np.int64 and loads.shape == (3, 2, spec.cluster.experts)
    assert (loads.sum(axis=-1) == spec.tokens_per_window * spec.top_k).all()
    assert loads.min() >= 0


def test_no_expert_gets_more_tokens_than_the_window_has_even_in_huge_bursts():
    spec = _with("mixtral-8x7b", burst_rate=0.3, burst_factor=50.0)
    loads = ml.generate(spec, 16, 0, layers=8)
    assert loads.max() <= spec.tokens_per_window
    assert (loads.sum(axis=-1) == spec.tokens_per_window * spec.top_k).all()


def test_same_seed_same_trace_other_seed_other_trace():
    a = ml.generate("qwen3-moe", 4, 7, layers=3)
    assert np.array_equal(a, ml.generate("qwen3-moe", 4, 7, layers=3))
    assert not np.array_equal(a, ml.generate("qwen3-moe", 4, 8, layers=3))


def test_a_smaller_trace_is_the_beginning_of_a_larger_one():
    full = ml.generate("deepseek-v3", 6, 3, layers=5)
    assert np.array_equal(ml.generate("deepseek-v3", 6, 3, layers=2), full[:, :2])
    assert np.array_equal(ml.generate("deepseek-v3", 2, 3, layers=5), full[:2])


@pytest.mark.parametrize("args", [(0, 0, None), (2, 0, 0), (2, 0, 59), (2, -1, None), (2.0, 0, None)])
def test_generate_rejects_impossible_sizes_and_seeds(args):
    windows, seed, layers = args
    with pytest.raises(ValueError):
        ml.generate("deepseek-v3", windows, seed, layers=layers)


def test_deepseek_skew_lies_in_the_band_of_real_routers(deepseek):
    assert 2.0 <= ml.summary(deepseek)["max_mean"] <= 5.0


def test_more_skew_means_a_hotter_hottest_expert():
    flat = ml.summary(ml.generate(_with("qwen3-moe", skew=0.2), 8, 0, layers=8))["max_mean"]
    steep = ml.summary(ml.generate(_with("qwen3-moe", skew=0.8), 8, 0, layers=8))["max_mean"]
    assert steep > flat + 1.0
    assert (
        ml.summary(ml.generate("mixtral-8x7b", 8, 0))["max_mean"]
        < ml.summary(ml.generate("qwen3-moe", 8, 0))["max_mean"]
    )


def test_hot_experts_drift_so_the_last_window_predicts_well_but_not_perfectly(deepseek):
    assert 0.5 < ml.summary(deepseek)["autocorr_lag1"] < 0.99
    calm = ml.generate(_with("deepseek-v3", burst_rate=0.0), 12, 0, layers=8)
    assert ml.window_correlation(calm, 8) < ml.window_correlation(calm, 1) - 0.05


def test_without_drift_or_bursts_popularity_stays_put():
    still = ml.generate(_with("deepseek-v3", drift=0.0, burst_rate=0.0), 12, 0, layers=8)
    assert ml.window_correlation(still, 1) > 0.98
    assert ml.window_correlation(still, 8) > 0.98


def test_adjacent_layers_share_popularity_distant_ones_do_not(deepseek):
    near, far = ml.layer_correlation(deepseek, 1), ml.layer_correlation(deepseek, 8)
    assert near > far + 0.2
    assert ml.layer_correlation(deepseek, 2) > far
    independent = ml.generate(_with("deepseek-v3", layer_rho=0.0), 8, 0, layers=16)
    assert abs(ml.layer_correlation(independent, 1)) < 0.1


def test_bursts_start_at_the_configured_rate():
    spec = _with("deepseek-v3", burst_rate=0.01)
    loads = ml.generate(spec, 32, 0, layers=8)  # 31 * 8 * 256 cells: about 630 burst starts expected
    assert 0.7 * 0.01 < ml.jump_rate(loads) < 1.2 * 0.01
    assert ml.jump_rate(ml.generate(_with("deepseek-v3", burst_rate=0.0), 32, 0, layers=8)) < 0.0005


def test_default_bursts_are_rare_but_present(deepseek):
    assert 0.5 * 0.002 < ml.summary(deepseek)["jump_rate"] < 1.5 * 0.002


def test_popularity_rows_are_distributions():
    p = ml.popularity("qwen3-moe", 3, 0, layers=4)
    assert p.shape == (3, 4, 128) and (p > 0).all()
    assert np.allclose(p.sum(axis=-1), 1.0)


# --- statistics on hand-made traces -------------------------------------------------------------------------


def test_summary_statistics_follow_their_definitions():
    loads = np.array([[[1, 1, 4, 2], [2, 2, 2, 2]], [[1, 1, 4, 2], [0, 8, 0, 0]]], dtype=np.int64)
    stats = ml.summary(loads)
    assert stats["max_mean"] == pytest.approx((2.0 + 1.0 + 2.0 + 4.0) / 4)
    assert stats["autocorr_lag1"] == pytest.approx(1.0)  # layer 1 has no spread in window 0: skipped
    assert stats["jump_rate"] == pytest.approx(1 / 8)  # expert 1 of layer 1: 1/4 of the load -> all of it
    assert stats["zero_share"] == pytest.approx(3 / 16)
    assert np.isnan(stats["layer_corr_far"]) and np.isnan(stats["autocorr_lag8"])


# --- trace files --------------------------------------------------------------------------------------------


def test_npz_round_trip(tmp_path):
    loads = ml.generate("mixtral-8x7b", 3, 0, layers=4)
    path = ml.save_npz(tmp_path / "t.npz", loads)
    back = ml.load_file(path)
    assert back.dtype == np.int64 and np.array_equal(back, loads)


def test_npz_of_whole_floats_is_read_as_counts(tmp_path):
    np.savez(tmp_path / "f.npz", loads=np.full((2, 1, 3), 5.0))
    assert ml.load_file(tmp_path / "f.npz").tolist() == [[[5, 5, 5]], [[5, 5, 5]]]


def test_csv_round_trip_in_any_row_order_with_extra_columns(tmp_path):
    loads = ml.generate("mixtral-8x7b", 3, 1, layers=2)
    rng = np.random.default_rng(0)
    rows = [f"{loads[w, layer, e]},x,{e},{w},{layer}" for w, layer, e in np.ndindex(loads.shape)]
    rng.shuffle(rows)
    path = tmp_path / "t.csv"
    path.write_text("tokens,note,expert,window,layer\n" + "\n".join(rows) + "\n\n")
    assert np.array_equal(ml.load_file(path), loads)


HEADER = "window,layer,expert,tokens\n"
GOOD = ["0,0,0,5", "0,0,1,3", "1,0,0,2", "1,0,1,0"]


@pytest.mark.parametrize(
    "text, reason",
    [
        (HEADER + "\n".join([*GOOD[:3], "1,0,1,-4"]), "negative"),
        (HEADER + "\n".join([*GOOD[:3], "1,0,1,nan"]), "not a whole number"),
        (HEADER + "\n".join([*GOOD[:3], "1,0,1,2.5"]), "not a whole number"),
        (HEADER + "\n".join([*GOOD[:3], "1,0,1,many"]), "not a number"),
        (HEADER + "\n".join(GOOD[:3]), r"no row for cell \[1, 0, 1\]"),
        (HEADER + "\n".join([*GOOD, "0,0,1,7"]), r"line 6: cell \[0, 0, 1\].*already given on line 3"),
        ("window,layer,tokens\n" + "\n".join(r[:-2] for r in GOOD), "lacks expert"),
        ("\n".join(GOOD), "lacks"),
        (HEADER, "no rows"),
    ],
)
def test_malformed_csv_is_refused_with_one_line_naming_the_file(tmp_path, text, reason):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ProblemError, match=reason) as caught:
        ml.load_file(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "arrays, reason",
    [
        ({"loads": np.array([[[1, -2]]])}, r"loads\[0, 0, 1\] is negative"),
        ({"loads": np.array([[[1.0, np.nan]]])}, "not a finite number"),
        ({"loads": np.ones((2, 3))}, "shape"),
        ({"loads": np.ones((2, 0, 3))}, "shape"),
        ({"loads": np.array([[["a"]]])}, "integers"),
        ({"counts": np.ones((1, 1, 1))}, "no array 'loads'"),
    ],
)
def test_malformed_npz_is_refused(tmp_path, arrays, reason):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ProblemError, match=reason):
        ml.load_file(path)


def test_unreadable_or_unknown_files_are_refused(tmp_path):
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ProblemError, match="not a readable .npz"):
        ml.load_file(tmp_path / "junk.npz")
    with pytest.raises(ProblemError, match="cannot read"):
        ml.load_file(tmp_path / "absent.csv")
    with pytest.raises(ProblemError, match="unknown load-trace format"):
        ml.load_file(tmp_path / "t.json")
    with pytest.raises(ProblemError, match="negative"):
        ml.save_npz(tmp_path / "s.npz", -np.ones((1, 1, 2), np.int64))
