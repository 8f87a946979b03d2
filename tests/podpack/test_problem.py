"""The ``podpack`` problem: splits, the verifier of decision logs, aggregation and the trace's files."""

from __future__ import annotations

import math

import pytest

from problems import reference_cache
from problems.base import Instance, InstanceRun, ProblemError, Verdict
from problems.podpack import instances, references, trace
from problems.registry import load

NODES_CSV = "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,131072,2,T4\nn1,16000,65536,0,\n"
PODS_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
)


@pytest.fixture(scope="module")
def problem():
    return load("podpack")


def instance(pods, nodes=None, kind="arrivals"):
    nodes = nodes or [[32000, 131072, 2, "T4"], [16000, 65536, 0, ""]]
    return Instance("t-000", f"{kind}-n{len(nodes)}", {"kind": kind, "nodes": nodes, "pods": pods})


def test_splits_are_deterministic_disjoint_and_saturate_their_clusters(problem):
    again = load("podpack")
    seen = {}
    for split in ("smoke", "train", "test"):
        built = problem.instances(split)
        assert [i.data for i in built] == [i.data for i in again.instances(split)]
        assert len({i.id for i in built}) == len(built)
        for inst in built:
            key = repr(inst.data)
            assert key not in seen, f"{inst.id} repeats {seen.get(key)}"
            seen[key] = inst.id
            nodes, pods = inst.data["nodes"], inst.data["pods"]
            capacity = 1000 * sum(n[2] for n in nodes)
            assert sum(p[2] * p[3] for p in pods) >= 1.0 * capacity  # the arrivals saturate the cluster
            assert all(any(trace.fits_empty(n, p) for n in nodes) for p in pods)
            if inst.data["kind"] == "snapshot":  # the scheduler's queue: highest priority first
                assert [p[5] for p in pods] == sorted((p[5] for p in pods), reverse=True)
    assert max(len(i.data["pods"]) for i in problem.instances("smoke")) < 50


def test_train_and_test_draw_from_disjoint_rows_of_the_trace(problem):
    if trace.trace_files() is None:
        pytest.skip("the Alibaba trace is not in ../shared/data (set ADRS_DATA_DIR): generated instances only")
    _, pods = instances._trace()
    request = lambda row: (row[0], row[1], row[2], row[3], row[5])  # noqa: E731  (typed groups add models)
    test_rows = {request(row) for i, row in enumerate(pods) if i % 3 == 2}
    for inst in problem.instances("test"):
        if not inst.group.endswith("-syn") and "n2000" not in inst.group:
            assert all(request(p) in test_rows for p in inst.data["pods"])
    train_only = {request(row) for i, row in enumerate(pods) if i % 3 != 2} - test_rows
    assert train_only  # requests seen only in train rows exist, and no test instance draws one
    assert not any(
        request(p) in train_only
        for inst in problem.instances("test")
        for p in inst.data["pods"]
        if "n2000" not in inst.group
    )


def test_the_verifier_replays_the_log_and_counts_every_figure_itself(problem):
    pods = [
        [4000, 8192, 1, 500, [], 2],
        [4000, 8192, 1, 700, [], 0],
        [4000, 8192, 2, 1000, [], 1],
        [1000, 1024, 0, 0, [], 0],
    ]
    verdict = problem.verify(instance(pods), [[0, [0], False], [0, [1], False], None, [1, [], False]])
    assert verdict.feasible, verdict.reason
    values = verdict.values
    assert values["gpu_capacity"] == 2000 and values["gpu_allocated"] == 1200 and values["gpu_demand"] == 3200
    assert (values["placed_0"], values["placed_1"], values["placed_2"]) == (2, 0, 1)
    assert (values["total_0"], values["total_1"], values["total_2"]) == (2, 1, 1)


@pytest.mark.parametrize(
    "output, reason",
    [
        (None, "expected a list of 2 decisions"),
        ([[0, [0], False]], "expected a list of 2 decisions"),
        ([[0, [0], False], [0, [0], False]], "pod 1: GPU 0 of node 0 has 500 milli-GPU free, the pod needs 700"),
        ([[0, [0], False], [1, [0], False]], "pod 1: node 1 has 0 GPUs, the pod needs 1"),
        ([[0, [0], False], [0, [float("nan")], False]], "GPUs are a list of ints"),
        ([[0, [0], False], [0, [1], True]], "only for a pod that fits nowhere"),
        ([[0, [0], False], {"node": 0}], "a decision is null or"),
    ],
)
def test_a_forged_or_broken_log_is_infeasible_with_a_clear_reason(problem, output, reason):
    pods = [[4000, 8192, 1, 500, [], 2], [4000, 8192, 1, 700, [], 2]]
    verdict = problem.verify(instance(pods), output)
    assert not verdict.feasible and reason in verdict.reason and "\n" not in verdict.reason


def test_aggregate_sums_over_instances_before_dividing(problem):
    def run(capacity, allocated, placed, total, preempted=0, seconds=0.5):
        values = {
            "gpu_capacity": capacity,
            "gpu_allocated": allocated,
            "gpu_demand": capacity,
            "pods": sum(total),
            "preempted": preempted,
        }
        values |= {f"placed_{p}": placed[p] for p in range(3)} | {f"total_{p}": total[p] for p in range(3)}
        return InstanceRun(instance([]), Verdict(True, values), seconds)

    metrics = problem.aggregate([run(1000, 900, (1, 1, 2), (2, 1, 2)), run(3000, 2100, (0, 0, 1), (1, 0, 3), 1)])
    assert metrics["unallocated"] == pytest.approx(100 * 1000 / 4000)
    assert metrics["allocated"] == pytest.approx(75.0)
    assert metrics["pending_high"] == pytest.approx(100 * 2 / 5)
    assert metrics["pending_low"] == pytest.approx(100 * 2 / 3)
    assert metrics["pending_mid"] == 0.0
    assert metrics["preemptions"] == pytest.approx(100 * 1 / 9)
    assert metrics["decision_us"] == pytest.approx(1e6 * 1.0 / 9)
    assert all(math.isfinite(v) for v in metrics.values())
    assert set(o.name for o in problem.objectives) <= set(metrics)


@pytest.mark.parametrize(
    "row, message",
    [
        ("p0,1000,1024,1,abc,,LS,Running,0,,", "gpu_milli must be a whole number >= 0, not 'abc'"),
        ("p0,-5,1024,0,0,,LS,Running,0,,", "cpu_milli must be a whole number >= 0, not '-5'"),
        ("p0,1000,1024,2,500,,LS,Running,0,,", "takes whole GPUs"),
        ("p0,1000,1024,0,300,,LS,Running,0,,", "asks for no GPU but gpu_milli 300"),
        ("p0,1000,1024,1,0,,LS,Running,0,,", "gpu_milli is 1-1000, not 0"),
        ("p0,1000,1024,1,500,,VIP,Running,0,,", "unknown qos 'VIP'"),
        ("p0,1000,1024", "expected 11 fields"),
    ],
)
def test_a_malformed_trace_row_is_one_line_naming_file_and_line(tmp_path, row, message):
    path = tmp_path / "pods.csv"
    path.write_text(PODS_HEADER + "ok,1000,1024,1,500,,LS,Running,0,,\n" + row + "\n")
    with pytest.raises(ProblemError, match=message) as caught:
        trace.load_pods(path)
    assert str(caught.value).startswith(f"{path}:3") and "\n" not in str(caught.value)


def test_a_node_list_without_columns_or_with_a_gpu_but_no_model_is_refused(tmp_path):
    path = tmp_path / "nodes.csv"
    path.write_text("sn,cpu_milli,gpu\nn0,1000,1\n")
    with pytest.raises(ProblemError, match="lacks the column"):
        trace.load_nodes(path)
    path.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,1000,1024,2,\n")
    with pytest.raises(ProblemError, match=r"nodes.csv:2: a node has a GPU model exactly when it has GPUs"):
        trace.load_nodes(path)


def test_instance_files_load_and_an_impossible_request_is_named(problem, tmp_path):
    (tmp_path / "nodes.csv").write_text(NODES_CSV)
    (tmp_path / "snapshot.csv").write_text(
        PODS_HEADER + "a,1000,1024,1,500,,BE,Running,0,,\nb,1000,1024,0,0,,LS,Running,1,,\n"
    )
    (loaded,) = problem.load_instances(tmp_path / "snapshot.csv")
    assert loaded.data["kind"] == "snapshot" and [p[5] for p in loaded.data["pods"]] == [2, 0]
    (tmp_path / "big.csv").write_text(PODS_HEADER + "huge,1000,1024,4,1000,,LS,Running,0,,\n")
    with pytest.raises(ProblemError, match=r"big.csv: pod 0 .*4 GPU x 1000 milli.* fits on no node"):
        problem.load_instances(tmp_path / "big.csv")
    (tmp_path / "t4.csv").write_text(PODS_HEADER + "a,1000,1024,1,500,V100|A100,LS,Running,0,,\n")
    with pytest.raises(ProblemError, match="models A100/V100"):
        problem.load_instances(tmp_path / "t4.csv")


def test_the_generator_matches_the_trace_it_was_fitted_to(problem):
    if trace.trace_files() is None:
        pytest.skip("the Alibaba trace is not in ../shared/data (set ADRS_DATA_DIR): nothing to compare with")
    nodes, pods = instances._trace()
    generator = problem._generator
    assert sum(t[4] for t in generator.node_types) == len(nodes)
    import random

    rng = random.Random(5)
    drawn = [generator.pod(rng) for _ in range(20000)]
    for cls in (0, 1, 8):
        assert sum(p[2] == cls for p in drawn) / len(drawn) == pytest.approx(
            sum(p[2] == cls for p in pods) / len(pods), abs=0.01
        )
    sharing = lambda rows: [p for p in rows if p[2] == 1 and p[3] < 1000]  # noqa: E731
    assert len(sharing(drawn)) / len(drawn) == pytest.approx(len(sharing(pods)) / len(pods), abs=0.01)
    mean_log_cpu = lambda rows: sum(math.log(p[0]) for p in rows) / len(rows)  # noqa: E731
    assert mean_log_cpu(drawn) == pytest.approx(mean_log_cpu(pods), abs=0.05)
    high = lambda rows: sum(p[5] == 2 for p in rows) / len(rows)  # noqa: E731
    assert high(drawn) == pytest.approx(high(pods), abs=0.02)


def test_the_shipped_references_cover_every_snapshot_of_the_splits(problem):
    """So that no evaluation solves CP-SAT at run time, whether the trace is at hand (these splits) or not."""
    shipped = reference_cache.read_records(references.SHIPPED_FILE)
    every = [i for split in ("smoke", "train", "test") for i in problem.instances(split)]
    snapshots = [i for i in every if i.data["kind"] == "snapshot"]
    assert snapshots
    for instance in snapshots:
        assert references.record_key(instance.data, problem.reference_limit) in shipped, instance.id
