"""The evaluation server that runs *inside* the sandbox. Standard library only.

One server lives per pool slot, already inside bubblewrap's namespaces, pinned to its core (the candidate's
process to the same one or, when the pool leaves cores to spare, to one of its own: see ``SandboxWorker``). It
pre-imports numpy and the problem's runner, forks the zygote (``zygote.py``) before reading any request, and
keeps one pristine candidate process from the zygote waiting. Per request it sends that process the code, then
the instances (one call each, or lockstep rounds of a simulation, ``lockstep.py``), timing every exchange
itself; then it kills every process the candidate left, reaps it and removes its directory. A clean-up that
fails in any way asks the framework to replace the whole sandbox.

It speaks ``frames.py``: a request is one JSON frame on stdin; the response is a JSON header (status, message,
the candidate's first KiB of output, seconds to load the program and per instance, whether to recycle), then
one frame per instance answered: the reply exactly as the candidate's process sent it (or, for a simulation,
as the driver here wrote it), never decoded here, so a candidate's output costs the server its size only.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import sys
import time
import types

from evaluators import cleanup
from evaluators.frames import Channel, FrameReader, PeerGone, write_frame
from evaluators.lockstep import SessionTimeout, run_session
from evaluators.zygote import PristineProcess, Zygote, ZygoteGone


class Server:
    def __init__(self, options: dict):
        self.options = options
        self.limits = options["limits"]
        self.runners: dict[str, types.ModuleType] = {}
        for name in options.get("preload", ()):
            self._runner(name)
        self.zygote = Zygote(options)  # now: it must never see a request
        self.keep = cleanup.ancestors_and_self() | {self.zygote.pid}
        self.next: PristineProcess | None = None

    def _runner(self, name: str) -> types.ModuleType:
        if name not in self.runners:
            self.runners[name] = importlib.import_module(name)
        return self.runners[name]

    def prepare(self, runner_name: str) -> None:
        """Have a pristine process for ``runner_name`` waiting (forked from the zygote off the critical path)."""
        if self.next is not None and self.next.runner_name != runner_name:
            self._clean_up(self.next)
            self.next = None
        if self.next is None:
            self.next = self.zygote.fork(runner_name)

    def handle(self, request: dict) -> tuple[dict, list[bytes]]:
        runner = self._runner(request["runner"])
        self.prepare(runner.__name__)
        process, self.next = self.next, None
        try:
            header, replies = self._run(process, runner, request)
        finally:
            clean = self._clean_up(process)
        header["recycle"] = not clean
        return header, replies

    def _run(self, process: PristineProcess, runner: types.ModuleType, request: dict) -> tuple[dict, list[bytes]]:
        limit = float(request["seconds_per_instance"])
        reply_limit = self.limits["output_bytes"] + 1024
        channel = Channel(process.to_child, process.from_child, process.stdio, reply_limit, self.options["spin"])
        header = {"status": "ok", "message": "", "load_seconds": 0.0, "seconds": []}
        replies: list[bytes] = []
        try:
            program = json.dumps({k: request[k] for k in ("code", "entry_point")}).encode()
            try:
                ready, header["load_seconds"] = channel.exchange(program, limit)
            except TimeoutError:
                header.update(status="timeout", message=f"the program did not load within {limit:g} s")
                return header, replies
            loaded = json.loads(ready)
            if loaded != {"ready": True}:
                error = loaded.get("error") if isinstance(loaded, dict) else None
                header.update(status="error", message=str(error or "malformed reply from the candidate process"))
                return header, replies
            if hasattr(runner, "drive"):
                replies, header["seconds"] = run_session(runner, request["instances"], channel, limit)
            else:
                self._calls(channel, request["instances"], limit, replies, header["seconds"])
            total = sum(len(reply) for reply in replies)
            if total > self.limits["request_output_bytes"]:
                cap = self.limits["request_output_bytes"]
                header.update(status="error", message=f"the outputs of this request ({total} bytes) exceed {cap} bytes")
                replies, header["seconds"] = [], []
        except SessionTimeout as exc:
            header.update(status="timeout", message=f"instance {exc.index}: no answer within {limit:g} s in all")
        except TimeoutError:
            header.update(status="timeout", message=f"instance {len(replies)}: no answer within {limit:g} s")
        except (PeerGone, BrokenPipeError):
            reason = _exit_reason(self.zygote.wait(process.pid, 0.05))
            header.update(status="crashed", message=f"instance {len(header['seconds'])}: {reason}")
        except ValueError as exc:  # an oversized frame, or a malformed one, from the candidate process
            header.update(status="error", message=f"instance {len(header['seconds'])}: {exc}")
        finally:
            header["stdio"] = channel.tail.text()
        return header, replies

    def _calls(self, channel: Channel, instances: list, limit: float, replies: list[bytes], seconds: list) -> None:
        """One exchange per instance; stops at the request's output limit."""
        total, cap = 0, self.limits["request_output_bytes"]
        for data in instances:
            reply, spent = channel.exchange(b"C" + json.dumps(data).encode(), limit)
            replies.append(reply)
            seconds.append(spent)
            total += len(reply)
            if total > cap:
                return

    def _clean_up(self, process: PristineProcess) -> bool:
        """Kill, reap and remove everything of the candidate's; False when any of it failed."""
        pid_namespace = self.options.get("pid_namespace")
        killed = cleanup.kill_all_but(self.keep) if pid_namespace else cleanup.kill_session(process.pid)
        for fd in (process.to_child, process.from_child, process.stdio):
            os.close(fd)
        try:
            reaped = self.zygote.wait(process.pid, 2.0) is not None
        except ZygoteGone:
            return False
        return killed and reaped and cleanup.remove_tree(process.workdir, time.monotonic() + 5.0)


def _exit_reason(status: int | None) -> str:
    if status is None:
        return "the candidate process closed its output"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        hint = {
            signal.SIGXCPU: " (CPU time limit)",
            signal.SIGXFSZ: " (file size limit)",
            signal.SIGKILL: " (killed: memory or process limit)",
            signal.SIGSEGV: " (segmentation fault; deep recursion or a native crash)",
            signal.SIGSYS: " (a forbidden system call)",
        }.get(sig, "")
        return f"the candidate process was killed by {signal.Signals(sig).name}{hint}"
    return f"the candidate process exited with code {os.WEXITSTATUS(status)} before answering"


def _respond(header: dict, replies: list[bytes]) -> None:
    write_frame(1, json.dumps(header).encode())
    for reply in replies:
        write_frame(1, reply)


def main() -> None:
    """Entry point inside the sandbox: ``argv[1]`` is the JSON options written by ``sandbox.py``."""
    options = json.loads(sys.argv[1])
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    os.sched_setaffinity(0, {options["cpus"][0]})
    memory = options["limits"]["server_memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))  # it reads candidates' outputs: it has a limit too
    try:
        import numpy  # noqa: F401 - pre-imported so that every forked candidate gets it for free
    except ImportError:
        pass
    server = Server(options)
    for name in options.get("preload", ())[:1]:
        server.prepare(name)
    write_frame(1, b'{"ready": true}')
    requests = FrameReader(0)
    while True:
        try:
            request = json.loads(requests.read(1 << 30))
        except PeerGone:
            return
        try:
            header, replies = server.handle(request)
        except Exception as exc:  # noqa: BLE001 - a server bug must reach the framework as text
            header = {
                "status": "crashed",
                "message": f"sandbox server failure: {exc!r}",
                "seconds": [],
                "recycle": True,
            }
            replies = []
        _respond(header, replies)
        if header.get("recycle"):
            return
        try:
            server.prepare(request["runner"])
        except ZygoteGone:
            return  # the framework sees the server gone and starts a new sandbox


if __name__ == "__main__":
    main()
