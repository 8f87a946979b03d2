"""The `serving` splits: physical memory, replicas, the Azure trace where it is at hand, the literature's settings,
and room for discovery (the oracle well above every baseline in a named setting of the test split)."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from problems.base import ProblemError, data_dir, seed_module
from problems.registry import load
from problems.serving import azure
from problems.serving import synthetic as sy
from problems.serving.hardware import COST_MODELS
from problems.serving.oracle import oracle_policy
from problems.serving.problem import ServingProblem
from problems.serving.sim import Workload, metrics, simulate
from problems.serving.traces import load_azure_trace

BASELINES = ("seed", "fcfs_watermark", "conservative", "past_future", "sarathi", "slo_aware")


@pytest.fixture(scope="module")
def problem() -> ServingProblem:
    return load("serving")


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No data folder: every instance is generated, and the warning is printed afresh."""
    monkeypatch.setenv("ADRS_DATA_DIR", str(tmp_path / "absent"))
    monkeypatch.setattr(azure, "_WARNED", set())


def test_instances_hold_their_gpus_whole_cache_and_their_own_replica(problem):
    models = set()
    for split in ("train", "test"):
        for instance in problem.instances(split):
            cost = COST_MODELS[instance.data["cost"]["name"]]
            assert instance.data["kv_capacity_tokens"] == cost.kv_capacity_tokens  # physical memory, no cap
            models.add(cost.name)
            if instance.group.startswith("longout"):
                assert instance.data["max_new_tokens"] == 8192
    assert models == {"llama3-8b-h100", "llama3-8b-a100", "llama3-70b-h100-tp4"}


def test_the_horizon_leaves_the_last_request_time_to_finish_within_its_slos(problem):
    for instance in problem.instances("train"):
        data = instance.data
        assert data["horizon"] - data["duration"] >= data["slo_ttft"] + data["max_new_tokens"] * data["slo_tpot"]


def test_literature_settings_are_named_splits_with_their_papers_replicas(problem):
    assert problem.extra_splits() == ("lit-sarathi", "lit-past-future", "lit-overload")
    [first, _] = problem.instances("lit-past-future")
    replica = (first.data["kv_capacity_tokens"], first.data["slo_ttft"], first.data["max_new_tokens"])
    assert replica == (120_000, 5.0, 4096)
    assert all(2048 <= o <= 4096 for o in first.data["output"]) and all(32 <= p <= 4096 for p in first.data["prompt"])
    assert {i.data["cost"]["name"] for i in problem.instances("lit-sarathi")} == {"llama3-8b-a100"}


def test_an_unknown_replica_field_in_a_split_is_refused(problem):
    options = dict(problem.spec.options)
    splits = {name: dict(table) for name, table in options["splits"].items()}
    splits["smoke"] = {"instances": [{**splits["smoke"]["instances"][0], "replica": {"kv_cache": 1}}]}
    with pytest.raises(ProblemError, match="unknown replica field.*kv_cache"):
        ServingProblem(dataclasses.replace(problem.spec, options={**options, "splits": splits}))


def test_without_the_azure_trace_conv_and_code_are_generated_and_a_warning_names_the_file(problem, no_data, capsys):
    instances = problem.instances("train")
    warning = capsys.readouterr().err
    assert "AzureLLMInferenceTrace_conv.csv not found" in warning and "AzureLLMInferenceTrace_code.csv" in warning
    assert "ADRS_DATA_DIR" in warning
    plan = problem.spec.options["splits"]["train"]["instances"][0]
    conv = next(i for i in instances if i.group == "conv-high")
    generated = sy.synthetic_trace("conv", plan["rate"], plan["seconds"], plan["seed"], plan["cv"])
    assert conv.data["arrivals"] == generated.arrivals.tolist() and conv.data["duration"] == plan["seconds"]
    problem.instances("test")
    assert capsys.readouterr().err == ""  # once per process


def test_with_the_azure_trace_conv_and_code_are_its_windows_compressed_to_the_rate(problem):
    path = data_dir() / azure.SUBFOLDER / azure.FILES["conv"]
    if not path.is_file():
        pytest.skip(f"the Azure conversation trace is not at {path} (set ADRS_DATA_DIR to the data folder)")
    trace = load_azure_trace(path)
    plans = {
        split: [p for p in problem.spec.options["splits"][split]["instances"] if p["preset"] == "conv"]
        for split in ("train", "test")
    }
    instances = {split: [i for i in problem.instances(split) if i.group == "conv-high"] for split in plans}
    for split, members in instances.items():
        for plan, instance in zip(plans[split], members):
            start, seconds = plan["azure_window"]
            window = trace.window(start, seconds)
            assert instance.data["prompt"] == window.prompt.tolist()  # the real requests, in order
            assert len(window) / instance.data["duration"] == pytest.approx(plan["rate"])
            gaps = np.diff(instance.data["arrivals"])
            assert gaps == pytest.approx(np.diff(window.arrivals) * instance.data["duration"] / seconds, abs=1e-6)
    train_end = max(sum(p["azure_window"]) for p in plans["train"])
    assert all(p["azure_window"][0] >= train_end for p in plans["test"])  # other parts of the hour


@functools.cache
def _goodput(instance_id: str, policy: str) -> tuple[float, float]:
    instance = next(i for i in load("serving").instances("test") if i.id == instance_id)
    w = Workload.from_data(instance.data)
    schedule = oracle_policy(w) if policy == "oracle" else seed_module(f"serving/{policy}.py", policy).schedule
    m = metrics(w, simulate(w, schedule))
    return m["goodput"], m["preemptions"]


def test_the_oracle_is_well_above_every_baseline_where_long_answers_fill_the_cache(problem):
    # The named setting of the "room for discovery": longout-high on the test split (docs/serving.md).
    members = [i.id for i in problem.instances("test") if i.group == "longout-high"]
    assert len(members) == 2

    def mean(policy: str) -> float:
        return sum(_goodput(i, policy)[0] for i in members) / len(members)

    assert all(_goodput(i, "fcfs_watermark")[1] > 20 for i in members)  # memory binds: vLLM's default preempts
    best = max(BASELINES, key=mean)
    assert mean("oracle") >= 1.1 * mean(best), (best, mean(best), mean("oracle"))
