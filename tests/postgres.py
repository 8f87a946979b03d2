"""A throwaway PostgreSQL server for the tests, on 127.0.0.1 and a free port, from the installed binaries.

The server binaries are looked up on PATH, then in Debian's ``/usr/lib/postgresql/<version>/bin`` (newest
first). As root, the server runs as the ``postgres`` user (it refuses to run as root). Anything that keeps it
from starting raises ``ServerUnavailable`` with the reason, which the fixtures turn into a skip.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SERVER_USER = "adrs"  # the superuser initdb creates; trust authentication, so no password


class ServerUnavailable(Exception):
    """Why no PostgreSQL server could be started (the tests that need one skip with this reason)."""


@dataclass
class PostgresServer:
    """A running server; ``database()`` creates a fresh database and returns its URL."""

    port: int
    root: Path
    process: subprocess.Popen
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        import psycopg

        name = f"test_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its files."""
        self.stop_process()
        shutil.rmtree(self.root, ignore_errors=True)

    def stop_process(self) -> None:
        """Immediate shutdown: on SIGQUIT the server ends its backends, then exits (SIGKILL if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(attempts: int = 3) -> PostgresServer:
    """Start a server in a new temporary folder; raises ServerUnavailable when none can be started."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ServerUnavailable("psycopg is not installed: pip install -e '.[postgres]'") from None
    bin_dir = find_binaries()
    if bin_dir is None:
        raise ServerUnavailable(
            "PostgreSQL server binaries not found (install Debian's postgresql package, "
            "or put initdb and postgres on PATH)"
        )
    owner = _server_owner()
    root = Path(tempfile.mkdtemp(prefix="adrs-postgres-"))
    try:
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        _run(owner, root, [bin_dir / "initdb", "-D", root / "data", "-U", SERVER_USER, "-A", "trust", "-E", "UTF8",
                           "--locale=C", "--no-sync"])  # fmt: skip
        for _ in range(attempts - 1):  # another process may take the free port before the server does
            try:
                return _start_server(owner, root, bin_dir, _free_port())
            except ServerUnavailable:
                pass
        return _start_server(owner, root, bin_dir, _free_port())
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def find_binaries() -> Path | None:
    """The folder holding initdb and postgres: PATH first, then the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("postgres")
    candidates = [Path(found).resolve().parent] if found else []
    installed = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(installed, key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)], reverse=True)
    return next((c for c in candidates if (c / "initdb").is_file() and (c / "postgres").is_file()), None)


def _server_owner() -> pwd.struct_passwd | None:
    """The account to run the server as: None for ourselves, the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable("running as root and there is no `postgres` user to run the server as") from None


def _as_owner(owner: pwd.struct_passwd | None) -> dict:
    return {} if owner is None else {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}


def _run(owner: pwd.struct_passwd | None, root: Path, command: list) -> None:
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120, **_as_owner(owner))
    if done.returncode != 0:
        raise ServerUnavailable(f"{Path(command[0]).name} failed: {_tail(done.stdout + done.stderr)}")


def _start_server(owner: pwd.struct_passwd | None, root: Path, bin_dir: Path, port: int) -> PostgresServer:
    log = root / f"server-{port}.log"
    settings = {"listen_addresses": "127.0.0.1", "fsync": "off", "synchronous_commit": "off",
                "full_page_writes": "off"}  # fmt: skip
    command = [bin_dir / "postgres", "-D", root / "data", "-p", str(port), "-k", root]
    command += [arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=root, stdout=output, stderr=subprocess.STDOUT, **_as_owner(owner))
    server = PostgresServer(port, root, process)
    deadline = time.monotonic() + 30
    while not _accepts_connections(server.url()):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop_process()
            raise ServerUnavailable(f"the PostgreSQL server did not start: {_tail(log.read_text(errors='replace'))}")
        time.sleep(0.05)
    return server


def _accepts_connections(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=2).close()
        return True
    except psycopg.OperationalError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(output: str, lines: int = 4) -> str:
    return " | ".join(line.strip() for line in output.strip().splitlines()[-lines:])
