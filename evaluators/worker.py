"""The evaluation server that runs *inside* the sandbox. Standard library only.

One server lives per pool slot, already inside bubblewrap's namespaces. It pre-imports numpy and the problem's
runner, then keeps one *pristine child* forked and waiting: the child has dropped to the candidate uid and set
its rlimits before any candidate code or instance exists, so forking costs nothing on the critical path and the
child's memory never held the request. Per request the server sends the child the code, then the instances one
at a time, timing each call itself, and finally kills every process the candidate left in the namespace.

It speaks ``frames.py`` on stdin/stdout to the framework and on the pipes of the candidate's process
(``candidate_process.py``).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import types

from evaluators.candidate_process import child_main
from evaluators.frames import OutputTail, PeerGone, read_frame, write_frame


class _PristineChild:
    """A forked, privilege-dropped, rlimited process waiting for candidate code."""

    def __init__(self, options: dict, runner: types.ModuleType):
        self.runner_name = runner.__name__
        self.workdir = _fresh_workdir(options.get("candidate_uid"))
        child_in_r, self.to_child = os.pipe()
        self.from_child, child_out_w = os.pipe()
        self.stdio, stdio_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            child_main(options, child_in_r, child_out_w, stdio_w, self.workdir, runner)
        for fd in (child_in_r, child_out_w, stdio_w):
            os.close(fd)


def _fresh_workdir(uid: int | None) -> str:
    path = f"/tmp/candidate-{os.getpid()}-{time.monotonic_ns()}"
    os.mkdir(path, 0o700)
    if uid is not None:
        os.chown(path, uid, uid)
    return path


def _exit_reason(pid: int) -> str:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            time.sleep(0.05)
            done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return "the candidate process ended"
    if not done:
        return "the candidate process closed its output"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        hint = {
            signal.SIGXCPU: " (CPU time limit)",
            signal.SIGXFSZ: " (file size limit)",
            signal.SIGKILL: " (killed: memory or process limit)",
            signal.SIGSEGV: " (segmentation fault; deep recursion or a native crash)",
        }.get(sig, "")
        return f"the candidate process was killed by {signal.Signals(sig).name}{hint}"
    return f"the candidate process exited with code {os.WEXITSTATUS(status)} before answering"


class Server:
    def __init__(self, options: dict):
        self.options = options
        self.runners: dict[str, types.ModuleType] = {}
        self.child: _PristineChild | None = None

    def _runner(self, name: str):
        if name not in self.runners:
            self.runners[name] = importlib.import_module(name)
        return self.runners[name]

    def handle(self, request: dict) -> dict:
        runner = self._runner(request["runner"])
        if self.child is None or self.child.runner_name != runner.__name__:
            self._discard_child()
            self.child = _PristineChild(self.options, runner)
        child, self.child = self.child, None
        try:
            return self._run(child, request)
        finally:
            self._clean_up(child)
            self.child = _PristineChild(self.options, runner)

    def _run(self, child: _PristineChild, request: dict) -> dict:
        limit = float(request["seconds_per_instance"])
        output_limit = self.options["limits"]["output_bytes"] + 1024
        tail = OutputTail(child.stdio)
        outcomes: list[dict] = []
        result = {"status": "ok", "message": "", "outcomes": outcomes}
        try:
            write_frame(child.to_child, json.dumps({k: request[k] for k in ("code", "entry_point")}).encode())
            reply = json.loads(read_frame(child.from_child, output_limit, time.perf_counter() + limit, tail))
            if "error" in reply:
                result.update(status="error", message=reply["error"])
                return result
            for data in request["instances"]:
                started = time.perf_counter()
                write_frame(child.to_child, json.dumps(data).encode())
                frame = read_frame(child.from_child, output_limit, started + limit, tail)
                seconds = time.perf_counter() - started
                reply = json.loads(frame)
                if not isinstance(reply, dict):
                    raise ValueError("malformed reply from the candidate process")
                outcomes.append({"seconds": seconds, **reply})
        except TimeoutError:
            result.update(status="timeout", message=f"instance {len(outcomes)}: no answer within {limit:g} s")
        except (PeerGone, BrokenPipeError):
            result.update(status="crashed", message=f"instance {len(outcomes)}: {_exit_reason(child.pid)}")
        except ValueError as exc:  # oversized or malformed frame from the candidate process
            result.update(status="error", message=f"instance {len(outcomes)}: {exc}")
        finally:
            result["stdio"] = tail.text()
        return result

    def _discard_child(self) -> None:
        if self.child is not None:
            self._clean_up(self.child)
            self.child = None

    def _clean_up(self, child: _PristineChild) -> None:
        _kill_all_but_me()
        for fd in (child.to_child, child.from_child, child.stdio):
            os.close(fd)
        _reap(child.pid)
        _remove_tree(child.workdir)


def _kill_all_but_me() -> None:
    """SIGKILL every process of the namespace except this server and its ancestors, until none is left."""
    if not _SERVER_OPTIONS.get("pid_namespace"):
        return
    keep = _ancestors_and_self()
    for _ in range(200):
        others = [pid for pid in _live_pids() if pid not in keep]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap_any()
        time.sleep(0.001)


def _ancestors_and_self() -> set[int]:
    keep, pid = set(), os.getpid()
    while pid > 0 and pid not in keep:
        keep.add(pid)
        pid = _parent_of(pid)
    return keep


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _live_pids() -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            pids.append(int(name))
    return pids


def _reap_any() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _reap(pid: int) -> None:
    if not _SERVER_OPTIONS.get("pid_namespace"):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    _reap_any()


def _remove_tree(path: str) -> None:
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files:
            _quietly(os.unlink, os.path.join(root, name))
        for name in dirs:
            target = os.path.join(root, name)
            _quietly(os.unlink if os.path.islink(target) else os.rmdir, target)
    _quietly(os.rmdir, path)


def _quietly(action, path: str) -> None:
    try:
        action(path)
    except OSError:
        pass


_SERVER_OPTIONS: dict = {}


def main() -> None:
    """Entry point inside the sandbox: ``argv[1]`` is the JSON options written by ``sandbox.py``."""
    _SERVER_OPTIONS.update(json.loads(sys.argv[1]))
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        import numpy  # noqa: F401 - pre-imported so that every forked candidate gets it for free
    except ImportError:
        pass
    server = Server(_SERVER_OPTIONS)
    for name in _SERVER_OPTIONS.get("preload", ()):
        server._runner(name)
    write_frame(1, b'{"ready": true}')
    while True:
        try:
            request = json.loads(read_frame(0, 1 << 30))
        except PeerGone:
            return
        try:
            response = server.handle(request)
        except Exception as exc:  # noqa: BLE001 - a server bug must reach the framework as text
            response = {"status": "crashed", "message": f"sandbox server failure: {exc!r}", "outcomes": []}
        write_frame(1, json.dumps(response).encode())


if __name__ == "__main__":
    main()
