"""The Ray executor: sandboxes in Ray actors of a real local cluster give the same results as the local pool."""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluators.pool import Job, LocalPool
from evolve.archive.store import Archive, sqlite_url
from evolve.cli import main as cli
from evolve.config import RunConfig

RUNNER, ENTRY = "problems.tardiness.runner", "schedule"
INSTANCE = {"p": [3, 2, 1, 4], "w": [1, 2, 1, 3], "d": [1, 2, 3, 4]}
EDD = (Path(__file__).parents[2] / "seeds" / "tardiness" / "edd.py").read_text()
CONNECTS = "import socket\ndef schedule(p, w, d):\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
NO_RAY = "Ray is not installed (pip install 'adrs[ray]')"
SPINS = "def schedule(p, w, d):\n    while True:\n        pass\n"


# The cluster and its clients (this process, and the `adrs` runs it makes) share a token of the session's own,
# never one from the user's home. Set at collection, since Ray reads it once, when first imported.
os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16), "RAY_USAGE_STATS_ENABLED": "0"})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# More than this machine's cores in CI, so that a pool sized by the cluster is told apart from one sized locally.
CLUSTER_CPUS = 3


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A real one-node Ray cluster (`ray start --head`) with token authentication; yields its address."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip(NO_RAY)
    folder = tmp_path_factory.mktemp("ray")
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("ray")),
        *("start", "--head", "--block", "--port", str(port), "--num-cpus", str(CLUSTER_CPUS)),
        *("--include-dashboard=false", "--object-store-memory", str(100 << 20), "--temp-dir", str(folder / "t")),
    ]
    log = open(folder / "ray.log", "wb")  # noqa: SIM115 - closed at teardown
    head = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while "--block" not in (folder / "ray.log").read_text(errors="replace"):
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Ray cluster did not start: {(folder / 'ray.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        head.wait()
        log.close()


def _archive_signature(run_dir: Path) -> tuple:
    """Everything a run decided, without measured times (which differ between any two runs)."""
    archive, run_id = Archive(sqlite_url(run_dir)), 1  # the first run of a fresh archive
    try:
        programs = [
            (
                p.code_hash,
                p.parent_ids,
                p.island,
                p.generation,
                p.iteration,
                p.mutator,
                tuple(sorted((s, e.status, e.metrics.get("gap")) for s, e in p.evaluations.items())),
            )
            for p in archive.programs(run_id)
        ]
        run = archive.run(run_id)
        return programs, archive.migrations(run_id), run.iteration, run.evaluations, run.status
    finally:
        archive.close()


def test_a_seeded_run_on_ray_gives_the_same_archive_as_on_the_local_executor(ray_cluster, tmp_path, capsys):
    common = ["run", "tardiness", "--seed", "5", "--iterations", "5", "--workers", "2", "--objectives", "gap"]
    assert cli.main([*common, "--run-dir", str(tmp_path / "local")]) == 0
    assert (
        cli.main([*common, "--run-dir", str(tmp_path / "ray"), "--executor", "ray", "--ray-address", ray_cluster]) == 0
    )
    assert f"on Ray {ray_cluster}" in capsys.readouterr().out
    local, on_ray = _archive_signature(tmp_path / "local"), _archive_signature(tmp_path / "ray")
    assert len(local[0]) > 10 and local[4] == "finished"
    assert on_ray == local


def test_without_workers_a_ray_run_uses_and_records_every_cpu_of_the_cluster(ray_cluster, tmp_path, capsys):
    args = ["run", "tardiness", "--iterations", "1", "--executor", "ray", "--ray-address", ray_cluster]
    assert cli.main([*args, "--run-dir", str(tmp_path / "r")]) == 0
    assert f"{CLUSTER_CPUS} workers on Ray" in capsys.readouterr().out
    archive = Archive(sqlite_url(tmp_path / "r"))
    try:
        config = RunConfig.from_dict(archive.run(1).config)
    finally:
        archive.close()
    assert config.workers == CLUSTER_CPUS  # recorded, so a resume keeps the batch of 2 * 3 children
    assert config.proposals_per_iteration == 2 * CLUSTER_CPUS


def test_ray_actors_run_the_same_sandbox_and_a_dead_actor_costs_one_evaluation(ray_cluster):
    from evaluators.ray_pool import RayPool

    jobs = [Job(EDD, [INSTANCE]), Job(CONNECTS, [INSTANCE]), Job(SPINS, [INSTANCE])]
    local = LocalPool(RUNNER, ENTRY, 1.0, workers=1)
    pool = RayPool(RUNNER, ENTRY, 1.0, workers=1, address=ray_cluster)
    try:
        local.start()
        pool.start()
        expected, got = local.map(jobs), pool.map(jobs)
        assert [r.status for r in got] == [r.status for r in expected] == ["ok", "ok", "timeout"]
        assert got[0].outcomes[0].output == expected[0].outcomes[0].output == [0, 1, 2, 3]
        assert got[1].outcomes[0].error is not None and "Network is unreachable" in got[1].outcomes[0].error

        import ray

        [worker] = pool._workers
        ray.kill(worker._actor)  # as when its node is lost
        [crashed] = pool.map(jobs[:1])
        assert crashed.status == "crashed" and "Ray actor of sandbox 0" in crashed.message
        [again] = pool.map(jobs[:1])
        assert again.status == "ok" and again.outcomes[0].output == [0, 1, 2, 3]
    finally:
        local.close()
        pool.close()


def test_without_ray_the_flag_says_how_to_install_it_and_leaves_no_run_behind(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if it were not installed
    run_dir = tmp_path / "run"
    assert cli.main(["run", "tardiness", "--executor", "ray", "--run-dir", str(run_dir)]) == 2
    error = capsys.readouterr().err
    assert "Ray, which is not installed" in error and "pip install 'adrs[ray]'" in error
    assert not run_dir.exists()
