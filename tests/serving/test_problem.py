"""The ``serving`` problem: spec, splits, the verifier of decision logs, aggregation, references and files."""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path

import numpy as np
import pytest

from evaluators.lockstep import play_locally
from evolve.config import RunConfig
from problems.base import Instance, InstanceRun, PolicyError, ProblemError, Verdict
from problems.registry import load
from problems.serving import references, runner
from problems.serving import traces as wl
from problems.serving.problem import ServingInstance, ServingProblem
from problems.serving.sim import Workload, metrics, simulate

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ADRS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "adrs-cache"))


@pytest.fixture(scope="module")
def problem() -> ServingProblem:
    return load("serving")


def fcfs(state):
    """A plain FCFS scheduler: preempt the newest when decoding would overflow, else admit in order."""
    bs = state.block_size

    def grows(r):
        return -(-(r.context_tokens + 1) // bs) - r.blocks

    running, free, preempt = list(state.running), state.free_blocks, []
    need = sum(grows(r) for r in running)
    while running and need > free:
        victim = running.pop()
        need, free = need - grows(victim), free + victim.blocks
        preempt.append(victim.id)
    free -= need
    prefill = {r.id: r.remaining_prefill for r in running if r.remaining_prefill}
    for r in state.waiting if not preempt else ():
        cost = -(-(r.context_tokens + 1) // bs)
        if cost > free:
            break
        prefill[r.id], free = r.remaining_prefill, free - cost
    return {"prefill": prefill, "preempt": preempt}


FCFS = types.SimpleNamespace(schedule=fcfs)


def _small(capacity: int = 256) -> ServingInstance:
    """Three requests arriving together on a cache of ``capacity`` tokens."""
    trace = wl.Trace(np.zeros(3), np.array([100, 100, 100]), np.array([5, 3, 8]))
    data, unservable = wl.instance_data(trace, 10.0, wl.Replica(kv_capacity_tokens=capacity))
    return ServingInstance("small", "hand", data, unservable=unservable)


# --- spec and splits --------------------------------------------------------------------------------------


def test_spec_maximises_goodput_then_minimises_p99_ttft(problem):
    assert [(o.name, o.direction, o.unit) for o in problem.objectives] == [
        ("goodput", "max", "req/s"),
        ("p99_ttft", "min", "s"),
        ("goodput_max_gap", "max", "req/s"),
        ("capacity", "max", "req/s"),
        ("p99_tpot", "min", "s"),
    ]
    # DistServe's capacity costs five simulations of every instance: measured only when selected
    assert [o.name for o in problem.objectives if o.on_request] == ["capacity"]
    # the papers' other SLOs can be selected on; a run that names none selects on ours
    assert problem.spec.search_objectives == ("goodput", "p99_ttft")
    assert [o.name for o in RunConfig().search_objectives(problem.spec)] == [
        "goodput",
        "p99_ttft",
    ]
    chosen = RunConfig(objectives=("goodput_max_gap", "p99_tpot"))
    assert [o.name for o in chosen.search_objectives(problem.spec)] == [
        "goodput_max_gap",
        "p99_tpot",
    ]
    assert problem.spec.entry_point == "schedule" and problem.spec.runner == "problems.serving.runner"
    assert [p.name for p in problem.baselines()] == [
        "fcfs_watermark.py",
        "conservative.py",
        "past_future.py",
        "sarathi.py",
        "slo_aware.py",
    ]
    assert problem.seed_program().name == "seed.py"
    assert "attainment" in problem.spec.reported


def test_splits_are_deterministic_and_named_by_preset_and_load(problem):
    for split in ("smoke", "train", "test"):
        assert problem.instances(split) == problem.instances(split)
    train = problem.instances("train")
    assert sorted(i.group for i in train) == [
        "code-high", "conv-high", "longout-70b", "longout-high", "longout-mid", "longprompt-a100", "multiturn-70b",
    ]  # fmt: skip
    assert sorted({i.group for i in problem.instances("test")}) == sorted(i.group for i in train)
    assert len(problem.instances("smoke")) == 1 and len(problem.instances("smoke")[0].data["arrivals"]) < 100
    for instance in train:
        Workload.from_data(instance.data)


def test_test_split_repeats_no_train_request(problem):
    def requests(split):
        return {
            (t, p, o)
            for i in problem.instances(split)
            for t, p, o in zip(i.data["arrivals"], i.data["prompt"], i.data["output"])
        }

    assert not requests("test") & requests("train")
    assert not requests("smoke") & requests("train")


def test_a_seed_shared_by_two_splits_is_refused(problem):
    options = dict(problem.spec.options)
    splits = {name: dict(table) for name, table in options["splits"].items()}
    splits["test"] = {"instances": [dict(splits["train"]["instances"][0])]}
    options["splits"] = splits
    with pytest.raises(ProblemError, match="share seed"):
        ServingProblem(dataclasses.replace(problem.spec, options=options))


def test_unknown_split_is_a_problem_error(problem):
    with pytest.raises(ProblemError, match="unknown split"):
        problem.instances("validation")


# --- runner and verifier ----------------------------------------------------------------------------------


def test_verify_accepts_a_simulated_log_and_recomputes_its_metrics(problem):
    instance = problem.instances("smoke")[0]
    log = play_locally(runner, FCFS, instance.data)
    verdict = problem.verify(instance, log)
    assert verdict.feasible, verdict.reason
    workload = Workload.from_data(instance.data)
    expected = metrics(workload, simulate(workload, fcfs))
    assert {k: verdict.values[k] for k in expected} == expected
    assert verdict.values["arrival_rate"] == len(workload.arrivals) / workload.duration
    assert verdict.values["unservable"] == 0.0


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        ("not a log", "log is a str"),
        ([[[[99, 10]], []]], "unknown request id 99"),
        ([[[[0, 100], [1, 100], [2, 100]], []]], "KV cache overflows"),
        ([[[["0", 10]], []]], "not an int"),
        ([[[[0, 10.0]], []]], "not an int"),
        ([[[[0, 100]]]], "not a pair"),
        ([[[], [0]]], "cannot preempt"),
        ([None], "not a pair"),
    ],
)
def test_verify_rejects_forged_logs_with_a_reason(log, reason):
    problem = load("serving")
    verdict = problem.verify(_small(), log)
    assert not verdict.feasible
    assert reason in verdict.reason


def test_verify_rejects_truncated_and_padded_logs(problem):
    instance = _small()
    log = play_locally(runner, FCFS, instance.data)
    assert problem.verify(instance, log).feasible
    assert "entries" in problem.verify(instance, log[:-1]).reason
    assert "entries" in problem.verify(instance, log + [[[], []]]).reason


def test_runner_reports_an_infeasible_decision_as_an_error():
    greedy = types.SimpleNamespace(schedule=lambda s: {"prefill": {r.id: r.remaining_prefill for r in s.waiting}})
    with pytest.raises(PolicyError, match="Infeasible: iteration 0: the KV cache overflows"):
        play_locally(runner, greedy, _small().data)
    with pytest.raises(AttributeError, match="schedule"):
        play_locally(runner, types.SimpleNamespace(), _small().data)


def test_unservable_requests_are_counted_in_the_verdict(problem):
    trace = wl.Trace(np.array([0.0, 1.0]), np.array([100, 300]), np.array([5, 5]))
    data, unservable = wl.instance_data(trace, 5.0, wl.Replica(kv_capacity_tokens=256))
    instance = ServingInstance("u", "hand", data, unservable=unservable)
    verdict = problem.verify(instance, play_locally(runner, FCFS, data))
    assert verdict.values["unservable"] == 1.0 and verdict.values["requests"] == 1.0


# --- aggregation and references ---------------------------------------------------------------------------


def _run(values: dict[str, float]) -> InstanceRun:
    return InstanceRun(Instance("i", "g", {}), Verdict(True, values), 0.1)


def test_aggregate_means_rates_and_sums_counts(problem):
    a = {"goodput": 2.0, "p99_ttft": 1.0, "attainment": 0.5, "preemptions": 3.0, "unfinished": 1.0}
    b = {"goodput": 4.0, "p99_ttft": 5.0, "attainment": 1.0, "preemptions": 4.0, "unfinished": 0.0}
    result = problem.aggregate([_run(a), _run(b)])
    assert (result["goodput"], result["p99_ttft"], result["attainment"]) == (3.0, 3.0, 0.75)
    assert (result["preemptions"], result["unfinished"]) == (7.0, 1.0)
    with pytest.raises(ProblemError):
        problem.aggregate([])
    with pytest.raises(ProblemError):
        problem.aggregate([InstanceRun(Instance("i", "g", {}), Verdict(False, reason="x"), 0.1)])


def test_bound_is_the_cached_oracle_goodput(problem, monkeypatch):
    oracle = references.oracle_module()
    if oracle is None:
        pytest.skip("problems/serving/oracle.py is absent")
    instance = problem.instances("smoke")[0]
    calls = []
    real = oracle.oracle_goodput
    monkeypatch.setattr(oracle, "oracle_goodput", lambda w: calls.append(1) or real(w))
    monkeypatch.setattr(references, "_MEMO", {})
    first = problem.bound(instance)
    assert first.kind == "computed" and first.source == "oracle-true-lengths" and first.value > 0
    monkeypatch.setattr(references, "_MEMO", {})  # as a fresh process would start: the disk cache answers
    assert problem.bound(instance) == first
    assert len(calls) <= 1


def test_bound_without_an_oracle_is_the_arrival_rate(problem, monkeypatch):
    monkeypatch.setattr(references, "oracle_module", lambda: None)
    instance = problem.instances("smoke")[0]
    reference = problem.bound(instance)
    assert reference.source == "arrival-rate"
    assert reference.value == len(instance.data["arrivals"]) / instance.data["duration"]


def test_bench_bounds_name_the_oracle_and_the_arrival_rate(problem):
    rows = problem.bench_bounds(problem.instances("smoke"))
    assert rows["arrival rate"]["attainment"] == 1.0
    if references.oracle_module() is not None:
        assert 0 < rows["oracle (true lengths)"]["goodput"] <= rows["arrival rate"]["goodput"]


def test_instances_at_rate_compress_time_and_keep_the_requests(problem):
    [instance] = problem.instances("smoke")
    [fast] = problem.instances_at_rate([instance], 6.0)
    assert len(fast.data["arrivals"]) / fast.data["duration"] == pytest.approx(6.0)
    assert fast.data["prompt"] == instance.data["prompt"]
    assert fast.data["horizon"] - fast.data["duration"] == pytest.approx(
        instance.data["horizon"] - instance.data["duration"]
    )
    assert problem.verify(fast, play_locally(runner, FCFS, fast.data)).feasible
    with pytest.raises(ProblemError):
        problem.instances_at_rate([instance], 0.0)


# --- instance files ---------------------------------------------------------------------------------------


def test_azure_csv_becomes_consecutive_windows(problem, tmp_path):
    rows = [f"2023-11-16 18:{m:02d}:{s:02d}.1234567,{100 + s},{1 + s % 7}" for m in range(28) for s in (0, 30)]
    path = tmp_path / "trace.csv"
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(rows) + "\n")
    instances = problem.load_instances(path)
    # 27.5 minutes: two windows of 10 minutes and a last one of 7.5 minutes (kept: at least half a window).
    assert [round(i.data["duration"]) for i in instances] == [600, 600, 450]
    assert [len(i.data["arrivals"]) for i in instances] == [20, 20, 16]
    short = tmp_path / "short.csv"
    short.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(rows[:48]) + "\n")
    assert [round(i.data["duration"]) for i in problem.load_instances(short)] == [600, 600]  # 3.5 min dropped
    assert instances[1].data["arrivals"][0] == 0.0 and instances[0].group == "trace"


def test_length_csv_gets_generated_arrivals(problem, tmp_path):
    lines = [f"{100 + k},{10 + k % 50},{110 + k + k % 50},1.0" for k in range(5000)]
    path = tmp_path / "lengths.csv"
    path.write_text("num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n" + "\n".join(lines) + "\n")
    instances = problem.load_instances(path)
    assert len(instances) == 3
    rate = len(instances[0].data["arrivals"]) / instances[0].data["duration"]
    assert rate == pytest.approx(2.0, rel=0.2)


def test_other_files_are_refused_with_the_formats(problem, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ProblemError, match="TIMESTAMP,ContextTokens,GeneratedTokens"):
        problem.load_instances(path)
    with pytest.raises(ProblemError, match="no such"):
        problem.load_instances(tmp_path / "missing.csv")


def test_real_azure_conv_trace_gives_ten_minute_windows(problem):
    path = DATA / "azure-llm-trace" / "AzureLLMInferenceTrace_conv.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent (download it from GitHub Azure/AzurePublicDataset, data/)")
    instances = problem.load_instances(path)
    assert len(instances) == 6
    assert sum(len(i.data["arrivals"]) + i.unservable for i in instances) == 19366
    verdict = problem.verify(instances[0], play_locally(runner, FCFS, instances[0].data))
    assert verdict.feasible, verdict.reason
