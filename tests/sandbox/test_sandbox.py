"""The sandbox contains hostile candidates: each is recorded as failed with its reason, nothing survives it,
no secret reaches it, and the worker goes on serving the next candidate."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from processes import descendants_of

from evaluators import isolation
from evaluators.sandbox import SandboxLimits, SandboxWorker

RUNNER = "problems.tardiness.runner"
INSTANCES = [{"p": [3, 1, 2], "w": [1, 1, 1], "d": [2, 1, 6]}, {"p": [1, 1], "w": [1, 2], "d": [1, 1]}]


def candidate(body: str) -> str:
    """A program whose schedule() runs ``body`` and then returns the identity order."""
    return (
        "import os, sys, time\n\ndef schedule(p, w, d):\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
        + ("\n    return list(range(len(p)))\n")
    )


@pytest.fixture(scope="module")
def worker():
    os.environ["ADRS_TEST_SECRET"] = "hunter2-in-the-parent"
    worker = SandboxWorker(slot=7, limits=SandboxLimits(memory_mb=1024, cpu_seconds=20))
    worker.start()
    yield worker
    worker.stop()
    os.environ.pop("ADRS_TEST_SECRET", None)


def run(worker: SandboxWorker, code: str, seconds: float = 2.0):
    return worker.run(code, RUNNER, "schedule", INSTANCES, seconds)


def host_processes_matching(text: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if text in line and "ps -eo" not in line]


def test_a_good_candidate_answers_every_instance_with_timings(worker):
    result = run(worker, candidate("pass"))
    assert result.status == "ok"
    assert [o.output for o in result.outcomes] == [[0, 1, 2], [0, 1]]
    assert all(0 < o.seconds < 1 for o in result.outcomes)


def test_infinite_loop_is_stopped_at_the_time_limit_and_the_worker_goes_on(worker):
    started = time.perf_counter()
    result = run(worker, candidate("while True:\n    pass"), seconds=0.5)
    assert result.status == "timeout"
    assert "no answer within 0.5 s" in result.message
    assert time.perf_counter() - started < 5
    assert run(worker, candidate("pass")).status == "ok"


def test_loop_that_ignores_sigterm_is_still_killed(worker):
    body = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass"
    assert run(worker, candidate(body), seconds=0.3).status == "timeout"
    assert run(worker, candidate("pass")).status == "ok"


def test_allocating_ten_gigabytes_fails_with_memory_error(worker):
    result = run(worker, candidate("x = bytearray(10 * 1024 ** 3)"))
    assert result.status == "ok"  # the sandbox answered; the instance carries the candidate's error
    assert all(o.error and o.error.startswith("MemoryError") for o in result.outcomes)


def test_children_that_outlive_the_candidate_are_all_killed(worker):
    body = """
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/usr/bin/sleep", ["sleep", "4243"])
        os._exit(0)
    """
    result = run(worker, candidate(body))
    assert result.status == "ok"
    time.sleep(0.2)
    assert host_processes_matching("sleep 4243") == []


def test_fork_bomb_is_capped_and_cleaned_up(worker):
    body = """
    for _ in range(200):
        try:
            if os.fork() == 0:
                os.execv("/usr/bin/sleep", ["sleep", "4244"])
        except OSError:
            break
    """
    result = run(worker, candidate(body))
    assert result.status == "ok"
    time.sleep(0.2)
    assert host_processes_matching("sleep 4244") == []
    assert run(worker, candidate("pass")).status == "ok"


def test_no_secret_and_no_home_reach_the_candidate(worker):
    home = str(Path.home())
    body = f"""
    import json
    print(sorted(os.environ.items()))
    print([open(f"/proc/{{p}}/environ", "rb").read() for p in os.listdir("/proc") if p.isdigit()
           and os.access(f"/proc/{{p}}/environ", os.R_OK)])
    home = {home!r}
    print("LISTING " + json.dumps([os.listdir("/"), os.listdir(home) if os.path.isdir(home) else []]))
    """
    result = run(worker, candidate(body))
    assert result.status == "ok"
    assert "hunter2" not in result.stdio
    assert "ADRS_TEST_SECRET" not in result.stdio
    root, home_listing = json.loads(result.stdio.split("LISTING ", 1)[1].splitlines()[0])
    visible = [Path(p) for p in isolation._installation_paths()] + list(isolation.module_files((RUNNER,)))
    system = {"bin", "lib", "lib32", "lib64", "sbin", "usr", "proc", "dev", "tmp"}
    assert set(root) <= system | {p.parts[1] for p in visible}
    # Only the folders leading to the Python installation can show up in the home folder.
    assert set(home_listing) <= {p.relative_to(home).parts[0] for p in visible if p.is_relative_to(home)}


def test_the_network_is_unreachable(worker):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    body = f"""
    import socket
    socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"stolen")
    """
    result = run(worker, candidate(body))
    with pytest.raises(BlockingIOError):
        listener.accept()
    listener.close()
    assert all(o.error and "Error" in o.error for o in result.outcomes)


def test_writes_outside_its_temporary_directory_fail(worker, tmp_path):
    target = tmp_path / "owned"
    body = f"""
    for path in ({str(target)!r}, "/usr/owned", "/tmp/owned", {str(os.getcwd() + "/owned")!r}):
        try:
            open(path, "w").write("x")
            print("WROTE", path)
        except OSError as exc:
            print("refused", path, exc)
    open("mine.txt", "w").write("fine")
    """
    result = run(worker, candidate(body))
    assert result.status == "ok"
    assert "WROTE" not in result.stdio
    assert not target.exists() and not os.path.exists(os.path.join(os.getcwd(), "owned"))


def test_a_candidate_that_kills_its_own_process_is_reported_as_crashed(worker):
    result = run(worker, candidate("os.kill(os.getpid(), 9)"))
    assert result.status == "crashed"
    assert "SIGKILL" in result.message
    assert run(worker, candidate("pass")).status == "ok"


def test_output_over_the_limit_is_rejected():
    worker = SandboxWorker(slot=8, limits=SandboxLimits(output_bytes=10_000))
    try:
        result = worker.run(
            candidate("pass").replace("list(range(len(p)))", "[0] * 100_000"), RUNNER, "schedule", INSTANCES, 2.0
        )
        assert all("exceeds the limit" in (o.error or "") for o in result.outcomes)
    finally:
        worker.stop()


def test_a_program_that_does_not_load_reports_why(worker):
    result = run(worker, "raise SystemExit('nope')\n")
    assert result.status == "error"
    assert "loading the program failed" in result.message and "SystemExit" in result.message


def test_without_namespaces_the_unsafe_mode_still_limits_time_and_answers():
    worker = SandboxWorker(slot=9, unsafe_no_sandbox=True)
    try:
        assert run(worker, candidate("pass")).status == "ok"
        assert run(worker, candidate("while True:\n    pass"), seconds=0.3).status == "timeout"
        assert run(worker, candidate("pass")).status == "ok"
    finally:
        worker.stop()


def test_a_server_killed_from_outside_costs_one_evaluation_and_is_restarted():
    worker = SandboxWorker(slot=10, preload=(RUNNER,))
    try:
        worker.start()
        root = [pid for pid in descendants_of(worker.process.pid) if _uid(pid) == 0 and "python" in _comm(pid)]
        [server] = [pid for pid in root if _parent(pid) not in root]  # the other is its zygote
        killer = threading.Timer(0.5, os.kill, (server, signal.SIGKILL))  # as the OOM killer would
        killer.start()
        result = run(worker, candidate("time.sleep(3)"), seconds=5.0)
        killer.join()
        assert result.status == "crashed" and "died" in result.message
        assert run(worker, candidate("pass")).status == "ok"
    finally:
        worker.stop()


def _uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("\nUid:")[1].split()[0])


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text()


def test_the_sandbox_shows_only_the_servers_and_the_runners_modules_of_adrs(worker):
    """No problem.toml (the splits' seeds), no generator, loader or reference, no seeds folder."""
    packages = sorted({str(isolation._package_root(path)) for path in isolation.module_files((RUNNER,))})
    body = f"""
    import json
    listing = []
    for root in {packages!r}:
        for folder, _, files in os.walk(root):
            listing += [os.path.join(folder, name) for name in files]
    print("FILES " + json.dumps(sorted(listing)))
    """
    result = run(worker, candidate(body))
    shown = json.loads(result.stdio.split("FILES ", 1)[1].splitlines()[0])
    assert shown == sorted(str(path) for path in isolation.module_files((RUNNER,)))
    assert not any(name.endswith(("problem.toml", "instances.py", "references.py", "exact.py")) for name in shown)


def test_an_installed_adrs_inside_the_environment_is_hidden_but_for_those_modules(monkeypatch):
    """Where the packages lie inside a folder the sandbox shows whole (a site-packages), they are covered."""
    repository = Path(__file__).resolve().parents[2]
    installed = isolation._installation_paths() + [str(repository)]
    monkeypatch.setattr(isolation, "_installation_paths", lambda: list(installed))
    worker = SandboxWorker(slot=11, preload=(RUNNER,))
    body = f"""
    print("LISTING " + repr(sorted(os.listdir({str(repository / "problems" / "tardiness")!r}))))
    print("SEEDS " + repr(os.path.isdir({str(repository / "seeds")!r})))
    """
    try:
        result = run(worker, candidate(body))
    finally:
        worker.stop()
    assert "LISTING ['__init__.py', 'runner.py']" in result.stdio
    assert "SEEDS True" in result.stdio  # the rest of the folder shows: only adrs's packages are covered


def test_the_server_that_reads_outputs_has_a_memory_limit_too(worker):
    body = """
    limits = open(f"/proc/{os.getppid()}/limits").read()
    print("LIMIT " + [line for line in limits.splitlines() if line.startswith("Max address space")][0])
    """
    result = run(worker, candidate(body))
    limit = result.stdio.split("LIMIT ", 1)[1].split()[3]
    assert int(limit) == SandboxLimits().server_memory_mb << 20


def test_a_server_whose_clean_up_fails_asks_to_be_replaced(tmp_path):
    """The server (here run as a plain process) reports a failed clean-up, and the framework then replaces it."""
    script = f"""
import json, os, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from evaluators import cleanup, worker
cleanup.remove_tree = lambda path, deadline: False
limits = {{"memory_bytes": 1 << 30, "cpu_seconds": 10, "open_files": 64, "processes": 32, "file_bytes": 1 << 20,
          "output_bytes": 1 << 20, "request_output_bytes": 1 << 22}}
server = worker.Server({{"limits": limits, "pid_namespace": False, "preload": [{RUNNER!r}], "cpus": [0], "spin": 0.0}})
request = {{"code": "def schedule(p, w, d):\\n    return [0]\\n", "runner": {RUNNER!r}, "entry_point": "schedule",
           "instances": [{{"p": [1], "w": [1], "d": [1]}}], "seconds_per_instance": 2.0}}
header, replies = server.handle(request)
print(json.dumps([header["status"], header["recycle"], replies[0].decode()]))
"""
    printed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    status, recycle, reply = json.loads(printed.stdout.strip().splitlines()[-1])
    assert (status, recycle, json.loads(reply)) == ("ok", True, {"output": [0]})
