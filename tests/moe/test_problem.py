"""The trusted half of ``moe``: instances hide the judged window, the verifier rejects bad plans with reasons and
computes the metrics itself, and the bound holds."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest

from problems import registry
from problems.base import InstanceRun, ProblemError, seed_module, seeds_dir
from problems.moe import runner
from problems.moe.instances import MoeInstance, split_plans, window_instance
from problems.moe.loads import PRESETS, Cluster, generate, save_npz
from problems.moe.plan import PlanError, bound_balancedness, judge, load_floor, parse_plan


@pytest.fixture(scope="module")
def problem():
    return registry.load("moe")


@pytest.fixture(scope="module")
def smoke(problem):
    return problem.instances("smoke")


def tiny_instance(future: list[int], hierarchical: bool = False) -> MoeInstance:
    """One layer of 4 experts in 2 groups, on 4 GPUs of 2 slots over 2 nodes; history all ones."""
    cluster = Cluster(1, 4, 8, 4, 2, 2)
    trace = np.array([[[1, 1, 1, 1]], [future]])
    return window_instance("t-000", "tiny", trace, 0, 8, PRESETS["mixtral-8x7b"], cluster, hierarchical)


def plan_of(placement: list[list[int]], experts: int = 4) -> dict:
    flat = [e for gpu in placement for e in gpu if e >= 0]
    return {"replicas": [[flat.count(e) for e in range(experts)]], "placement": [placement]}


def run_seed(name: str, instance: MoeInstance):
    return runner.run(seed_module(f"moe/{name}", name.removesuffix(".py")), instance.data)


# --- instances ----------------------------------------------------------------------------------------------


def test_the_candidate_sees_the_history_but_never_the_window_it_is_judged_on(problem):
    [first, *_] = problem.instances("train")
    trace = generate("deepseek-v3", 24, 200)
    history = runner.decode_loads(first.data["history"])
    assert set(first.data) == {"history", "cluster"}
    assert history.shape == (8, 58, 256) and (history == trace[1:9]).all()
    assert (first.next_window() == trace[9]).all()
    assert not any((history[k] == trace[9]).all() for k in range(len(history)))


def test_splits_are_deterministic_and_never_share_a_trace(problem):
    train = problem.instances("train")
    again = problem.instances("train")
    assert [i.data == j.data for i, j in zip(train, again)] == [True] * len(train)
    test = problem.instances("test")
    futures = {i.future["base64"] for i in train}
    assert not futures & {i.future["base64"] for i in test}
    assert {i.group for i in test} == {
        "deepseek-v3/hierarchical", "deepseek-v3/global", "qwen3-moe/global", "mixtral-8x7b/global",
        "deepseek-v3/global/drift0.6/skew0.9", "qwen3-moe/global/burst_rate0.02/skew0.9",
    }  # fmt: skip


def test_two_traces_with_one_seed_are_refused():
    trace = {"preset": "mixtral-8x7b", "seed": 5, "windows": [1]}
    options = {"splits": {name: {"instances": [trace]} for name in ("smoke", "train", "test")}}
    with pytest.raises(ProblemError, match="splits smoke and train share seed 5"):
        split_plans(options)


def test_history_is_shorter_at_the_start_of_a_trace(smoke):
    qwen = next(i for i in smoke if i.group.startswith("qwen3"))
    assert runner.decode_loads(qwen.data["history"]).shape[0] == 4  # window 3: windows 0..3
    assert qwen.hierarchical() and qwen.data["cluster"]["slots_per_gpu"] == 10


def test_load_packing_round_trips_int32_and_int64_values():
    for values in (np.arange(24).reshape(2, 3, 4), np.full((1, 1, 2), 2**40)):
        packed = runner.encode_loads(values)
        assert (runner.decode_loads(packed) == values).all()
    assert runner.encode_loads(np.full((1, 1, 2), 2**40))["dtype"] == "<i8"


# --- verifier: rejections -----------------------------------------------------------------------------------


REJECTED = [
    ({"replicas": [[1, 1, 1, 1]], "placement": [[[0, 1], [2, 2], [1, 1], [2, 2]]]}, "expert 3 has no replica"),
    (plan_of([[0, 1], [2, 3], [0, 1, 2], [3]]), "has 3 entries; the cluster needs 2"),
    ({"replicas": [[2, 2, 2, 2]], "placement": [[[0, 1], [2, 3], [0, 1], [2, 3]]], "extra": 1}, "keys"),
    ({"replicas": [[1, 2, 2, 2]], "placement": [[[0, 1], [2, 3], [0, 1], [2, 3]]]}, "replicas says expert 0 has 1"),
    ({"replicas": [[2, 2, 2, 2]], "placement": [[[0, 1], [2, 3], [0, 1], [2, float("nan")]]]}, "NaN"),
    ({"replicas": [[2, 2, 2, 2]], "placement": [[[0, 1], [2, 3], [0, 1], [2, True]]]}, "True, not an integer"),
    ({"replicas": [[2, 2, 2, 2]], "placement": [[[0, 1], [2, 3], [0, 1], [2, 3.0]]]}, "3.0, not an integer"),
    (plan_of([[0, 1], [2, 3], [0, 1], [2, 4]]), "holds expert 4; ids run from 0 to 3"),
    (plan_of([[0, 1], [2, 3], [0, 1], [2, -2]]), "holds expert -2"),
    (plan_of([[0, 1], [2, 3], [0, 1], [2, 10**30]]), "out of range"),
    ("[[1]]", "got '[[1]]'"),
    (None, "got None"),
    ([[1, 1, 1, 1]], "a pair"),
]


@pytest.mark.parametrize("output, reason", REJECTED, ids=[r for _, r in REJECTED])
def test_verifier_rejects_invalid_plans_with_a_specific_reason(problem, output, reason):
    verdict = problem.verify(tiny_instance([4, 3, 2, 1]), output)
    assert not verdict.feasible and reason in verdict.reason and verdict.reason.startswith("invalid plan")


def test_verifier_enforces_the_hierarchy_only_when_the_instance_asks_for_it(problem):
    # Group 0 = experts 0, 1; node 0 = GPUs 0, 1. Expert 1 on GPU 2 (node 1) splits group 0.
    split_group = plan_of([[0, 0], [1, 0], [1, 2], [3, 3]])
    assert problem.verify(tiny_instance([4, 3, 2, 1]), split_group).feasible
    verdict = problem.verify(tiny_instance([4, 3, 2, 1], hierarchical=True), split_group)
    assert not verdict.feasible and "expert group 0 spans nodes 0 and 1" in verdict.reason
    assert problem.verify(tiny_instance([4, 3, 2, 1], True), plan_of([[0, 0], [1, 1], [2, 3], [2, 3]])).feasible


def test_a_plan_for_another_cluster_is_rejected(problem, smoke):
    mixtral = next(i for i in smoke if i.group.startswith("mixtral"))
    verdict = problem.verify(mixtral, plan_of([[0, 1], [2, 3], [0, 1], [2, 3]]))
    assert not verdict.feasible and "entries; the cluster needs" in verdict.reason


# --- verifier: metrics --------------------------------------------------------------------------------------


def test_metrics_are_computed_from_the_next_window_by_hand(problem):
    # Loads 4 3 2 1 on the next window, every expert on two slots (replicas carry 2, 1.5, 1, 0.5):
    # GPUs [0,1] [2,3] [0,1] [2,3] carry 2+1.5, 1+0.5, 2+1.5, 1+0.5 -> mean 2.5 over max 3.5.
    verdict = problem.verify(tiny_instance([4, 3, 2, 1]), plan_of([[0, 1], [2, 3], [0, 1], [2, 3]]))
    assert verdict.feasible
    assert verdict.values["balancedness"] == pytest.approx(2.5 / 3.5)
    # The largest replica is 2 tokens (expert 0 split in two); the mean slot load 10 / 8.
    assert verdict.values["slot_max_mean"] == pytest.approx(2 / 1.25)
    # Floor: max(10 / 4 GPUs, least largest replica of 4 3 2 1 on 8 slots = 1.5 (4/3, 3/2, 2/2, 1)) = 2.5.
    assert verdict.values["balancedness_bound"] == pytest.approx(1.0)
    assert verdict.values["max_load_over_bound"] == pytest.approx(3.5 / 2.5)


def test_a_perfect_plan_scores_one_and_empty_slots_carry_nothing(problem):
    verdict = problem.verify(tiny_instance([2, 2, 2, 2]), plan_of([[0, -1], [1, -1], [2, -1], [3, -1]]))
    assert verdict.feasible and verdict.values["balancedness"] == pytest.approx(1.0)


def test_hierarchy_lowers_the_bound_when_one_group_carries_most_load():
    # Group 0 (experts 0, 1) carries 9 of 10 tokens and must sit on one node of 2 GPUs: its GPUs carry >= 4.5.
    cluster = Cluster(1, 4, 8, 4, 2, 2)
    loads = np.array([[5.0, 4.0, 0.5, 0.5]])
    assert load_floor(loads, cluster).tolist() == [2.5]
    assert load_floor(loads, cluster, hierarchical=True).tolist() == [4.5]
    assert bound_balancedness(loads, cluster, hierarchical=True) == pytest.approx(2.5 / 4.5)


def test_no_baseline_beats_the_bound_on_any_instance(problem, smoke):
    for instance in smoke:
        bound = problem.bound(instance)
        assert bound.kind == "bound"
        for name in ("seed.py", "eplb_hierarchical.py", "eplb_global.py", "round_robin.py", "lpt.py"):
            verdict = problem.verify(instance, run_seed(name, instance))
            assert verdict.feasible, (name, verdict.reason)
            assert verdict.values["balancedness"] <= bound.value + 1e-12
            assert verdict.values["max_load_over_bound"] >= 1 - 1e-12


def test_parse_plan_is_exact_about_shapes_even_deep_inside():
    cluster = Cluster(2, 4, 8, 4, 2, 2)
    good = [[[0, 1], [2, 3], [0, 1], [2, 3]]] * 2
    with pytest.raises(PlanError, match=r"placement\[1\]\[3\] has 1 entries"):
        parse_plan({"replicas": [[2] * 4] * 2, "placement": [good[0], good[0][:3] + [[2]]]}, cluster, False)
    plan = parse_plan([[[2] * 4] * 2, good], cluster, False)  # a pair works as well as a dict
    assert plan.placement.shape == (2, 4, 2)


def test_judge_of_an_idle_layer_is_perfect():
    cluster = Cluster(1, 4, 8, 4, 2, 2)
    plan = parse_plan({"replicas": [[2] * 4], "placement": [[[0, 1], [2, 3], [0, 1], [2, 3]]]}, cluster, False)
    metrics = judge(plan, np.zeros((1, 4)), cluster)
    assert all(math.isclose(v, 1.0) for v in metrics.values())


# --- aggregation, bench rows and files ----------------------------------------------------------------------


def test_aggregate_averages_instances_and_times_calls(problem, smoke):
    runs = [InstanceRun(i, problem.verify(i, run_seed("seed.py", i)), s) for i, s in zip(smoke, (0.01, 0.03))]
    metrics = problem.aggregate(runs)
    assert metrics["runtime_ms"] == pytest.approx(20.0)
    assert metrics["balancedness"] == pytest.approx(np.mean([r.verdict.values["balancedness"] for r in runs]))
    with pytest.raises(ProblemError):
        problem.aggregate([])


def test_bench_rows_put_foresight_between_the_baselines_and_the_bound(problem, smoke):
    rows = problem.bench_bounds(smoke)
    oracle, bound = rows["oracle (EPLB on the next window)"], rows["bound (no plan passes it)"]
    eplb = np.mean([problem.verify(i, run_seed("eplb_global.py", i)).values["balancedness"] for i in smoke])
    assert eplb < oracle["balancedness"] <= bound["balancedness"] + 1e-12


def test_a_recorded_trace_file_becomes_one_instance_per_window(problem, tmp_path):
    trace = generate("mixtral-8x7b", 6, 4, layers=3)
    path = save_npz(tmp_path / "recorded.npz", trace)
    instances = problem.load_instances(path)
    assert len(instances) == 5 and instances[0].data["cluster"]["layers"] == 3
    assert (instances[-1].next_window() == trace[5]).all()
    assert (runner.decode_loads(instances[-1].data["history"]) == trace[:5]).all()
    assert problem.verify(instances[0], run_seed("eplb_global.py", instances[0])).feasible


def test_a_trace_no_preset_fits_is_refused_with_the_option_to_set(problem, tmp_path):
    path = save_npz(tmp_path / "odd.npz", np.ones((3, 2, 12), dtype=np.int64))
    with pytest.raises(ProblemError, match=r"12 experts match 0 presets; set \[options.files\] preset"):
        problem.load_instances(path)
    with pytest.raises(ProblemError, match="at least 2 windows"):
        problem.load_instances(save_npz(tmp_path / "short.npz", np.ones((1, 2, 8), dtype=np.int64)))


def test_loads_drift_so_weighing_recent_windows_more_beats_eplbs_plain_sum(problem):
    """What the seed leaves to evolution is real: under drift, a recency-weighted prediction plans better."""
    code = (seeds_dir() / "moe" / "seed.py").read_text()
    assert "RECENCY = 1.0" in code

    def balancedness(recency: float) -> float:
        module = types.ModuleType("candidate")
        exec(compile(code.replace("RECENCY = 1.0", f"RECENCY = {recency}"), "candidate.py", "exec"), module.__dict__)
        instances = problem.instances("train")
        return float(np.mean([problem.verify(i, runner.run(module, i.data)).values["balancedness"] for i in instances]))

    plain, recent = balancedness(1.0), balancedness(0.3)
    assert recent > plain + 0.01


def test_train_and_test_cover_heavier_regimes_than_the_presets_own(problem):
    for split in ("train", "test"):
        groups = {i.group for i in problem.instances(split)}
        assert {"deepseek-v3/global/drift0.6/skew0.9", "qwen3-moe/global/burst_rate0.02/skew0.9"} <= groups
    heavy = [i for i in problem.instances("train") if "skew0.9" in i.group and i.group.startswith("qwen3")]
    plain = [i for i in problem.instances("train") if i.group == "qwen3-moe/global"]

    def hottest(instances):  # the hottest expert's share of a layer's load, on average
        loads = [i.next_window() for i in instances]
        return float(np.mean([(w.max(axis=1) / w.sum(axis=1)).mean() for w in loads]))

    assert hottest(heavy) > 1.5 * hottest(plain)


def test_a_split_with_unknown_load_overrides_is_refused_by_name():
    options = {
        "splits": {
            name: {"instances": [{"preset": "qwen3-moe", "seed": k, "windows": [3]}]}
            for k, name in enumerate(("smoke", "train", "test"))
        }
    }
    options["splits"]["train"]["instances"][0]["loads"] = {"skewness": 2.0}
    with pytest.raises(ProblemError, match="split train, seed 1: invalid loads"):
        split_plans(options)
    options["splits"]["train"]["instances"][0]["loads"] = {"skew": -1.0}
    with pytest.raises(ProblemError, match="load model skew out of range"):
        split_plans(options)


def test_the_stress_set_is_more_skewed_than_any_train_instance(problem):
    def top_decile_share(instance):  # of a layer's load, on the hottest tenth of its experts, mean over layers
        window = np.sort(instance.next_window(), axis=1)[:, ::-1]
        top = max(1, window.shape[1] // 10)
        return float((window[:, :top].sum(axis=1) / window.sum(axis=1)).mean())

    stress = problem.stress_instances()
    assert len(stress) == 8
    for preset in ("deepseek-v3", "qwen3-moe", "mixtral-8x7b"):
        train = max(top_decile_share(i) for i in problem.instances("train") if i.group.startswith(preset))
        assert min(top_decile_share(i) for i in stress if f"/{preset}/" in i.group) > train
