"""The candidate's process inside the sandbox: drops privileges, sets rlimits, then serves one program.

Forked by the server before any request exists (see ``worker.py``); standard library only.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
import types

from evaluators.frames import read_frame, write_frame

_CHILD_IN, _CHILD_OUT = 3, 4  # fixed descriptor numbers inside the candidate process


def _set_limits(limits: dict) -> None:
    memory = limits["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def child_main(options: dict, to_child: int, from_child: int, stdio: int, workdir: str, runner) -> None:
    """The candidate's process: never returns."""
    try:
        os.setsid()
        os.dup2(to_child, _CHILD_IN)
        os.dup2(from_child, _CHILD_OUT)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(stdio, 1)
        os.dup2(stdio, 2)
        os.closerange(_CHILD_OUT + 1, 1 << 16)
        uid = options.get("candidate_uid")
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.chdir(workdir)
        _set_limits(options["limits"])
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        _serve_candidate(runner, options["limits"]["output_bytes"])
    except BaseException:  # noqa: BLE001 - the child must never fall back into the server's loop
        pass
    os._exit(0)


def _serve_candidate(runner, output_limit: int) -> None:
    request = json.loads(read_frame(_CHILD_IN, 1 << 26))
    module = types.ModuleType("candidate")
    module.__file__ = "candidate.py"
    sys.modules["candidate"] = module
    try:
        exec(compile(request["code"], "candidate.py", "exec"), module.__dict__)
        if not callable(getattr(module, request["entry_point"], None)):
            raise AttributeError(f"the program does not define a function {request['entry_point']}()")
    except BaseException as exc:  # noqa: BLE001 - any failure of untrusted code is reported, not raised
        write_frame(_CHILD_OUT, json.dumps({"error": "loading the program failed: " + _describe(exc)}).encode())
        return
    del request
    write_frame(_CHILD_OUT, b'{"ready": true}')
    serving_pid = os.getpid()
    while True:
        data = json.loads(read_frame(_CHILD_IN, 1 << 28))
        try:
            output = runner.run(module, data)
            text = json.dumps({"output": output})
        except BaseException as exc:  # noqa: BLE001
            text = json.dumps({"error": _describe(exc)})
        if os.getpid() != serving_pid:
            # A copy the candidate forked came back through the runner: left to go on, it would answer (and
            # read requests) on the shared pipes in the candidate's place, and the replies would be a race.
            os._exit(0)
        if len(text) > output_limit:
            text = json.dumps({"error": f"output of {len(text)} bytes exceeds the limit of {output_limit} bytes"})
        write_frame(_CHILD_OUT, text.encode())


def _describe(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "candidate.py"]
    where = f" (candidate.py line {frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {str(exc)[:500]}{where}"
