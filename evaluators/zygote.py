"""The zygote: the one process of a sandbox that forks candidates' processes. Standard library only.

The sandbox server reads every request (code, instances) and every output; a process forked from it would carry
them in its memory, live or freed, and a candidate could read the previous candidate's program or answers there.
So the server forks the zygote once, at start-up, before any request exists; the zygote never receives anything
but "fork" and "wait", and every candidate's process is forked from it: a copy of a memory that has never held
a candidate's code, instances or outputs. The pipes of a new process reach the server over a Unix socket.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import time
from dataclasses import dataclass

from evaluators import confine
from evaluators.candidate_process import child_main


@dataclass
class PristineProcess:
    """A forked, privilege-dropped, rlimited process waiting for candidate code, and the server's ends of its pipes."""

    pid: int
    workdir: str
    to_child: int
    from_child: int
    stdio: int
    runner_name: str


class ZygoteGone(RuntimeError):
    """The zygote died or stopped answering; the sandbox must be replaced."""


class Zygote:
    """The server's handle on its zygote."""

    def __init__(self, options: dict):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            ours.close()
            _zygote_main(theirs, options)
        theirs.close()
        self._socket = ours

    def fork(self, runner_name: str) -> PristineProcess:
        message, fds = self._ask({"fork": runner_name}, 3)
        if len(fds) != 3 or "pid" not in message:
            for fd in fds:
                os.close(fd)
            raise ZygoteGone(message.get("error", "the zygote sent no process"))
        return PristineProcess(message["pid"], message["workdir"], *fds, runner_name)

    def wait(self, pid: int, seconds: float) -> int | None:
        """Reap ``pid`` (a child of the zygote) within ``seconds``; its wait status, or None if it still runs."""
        message, _ = self._ask({"wait": pid, "seconds": seconds}, 0)
        return message.get("status")

    def _ask(self, message: dict, fds: int) -> tuple[dict, list[int]]:
        try:
            self._socket.send(json.dumps(message).encode())
            data, received, _, _ = socket.recv_fds(self._socket, 4096, fds)
        except OSError as exc:
            raise ZygoteGone(f"the zygote is gone ({exc})") from None
        if not data:
            raise ZygoteGone("the zygote is gone")
        return json.loads(data), received


def _zygote_main(sock: socket.socket, options: dict) -> None:
    """Fork pristine processes on request until the server goes away; never returns."""
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):  # the server's pipes to the framework are none of the zygote's business
            os.dup2(devnull, fd)
        # Unsupported machines run only with --unsafe-no-sandbox (the framework refuses otherwise): no filter there.
        seccomp = confine.seccomp_program() if confine.supported() else None
        exited: dict[int, int] = {}
        while True:
            data = sock.recv(4096)
            if not data:
                break
            request = json.loads(data)
            _reap_exited(exited)
            if "fork" in request:
                _fork_pristine(sock, options, importlib.import_module(request["fork"]), seccomp)
            else:
                status = _wait(request["wait"], request["seconds"], exited)
                sock.send(json.dumps({"status": status}).encode())
    except BaseException:  # noqa: BLE001 - nothing may fall back into the server's code
        pass
    os._exit(0)


def _fork_pristine(sock: socket.socket, options: dict, runner, seccomp: bytes | None) -> None:
    uid = options.get("candidate_uid")
    workdir = f"/tmp/candidate-{os.getpid()}-{time.monotonic_ns()}"
    os.mkdir(workdir, 0o700)
    if uid is not None:
        os.chown(workdir, uid, uid)
    child_in, to_child = os.pipe()
    from_child, child_out = os.pipe()
    stdio, stdio_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        sock.close()
        child_main(options, (child_in, child_out, stdio_w), workdir, runner, seccomp)
    for fd in (child_in, child_out, stdio_w):
        os.close(fd)
    socket.send_fds(sock, [json.dumps({"pid": pid, "workdir": workdir}).encode()], [to_child, from_child, stdio])
    for fd in (to_child, from_child, stdio):
        os.close(fd)


def _wait(pid: int, seconds: float, exited: dict[int, int]) -> int | None:
    if pid in exited:
        return exited.pop(pid)
    deadline = time.monotonic() + seconds
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.001)


def _reap_exited(exited: dict[int, int]) -> None:
    """Collect ended candidates' processes, keeping their status until the server asks for it."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exited[pid] = status
