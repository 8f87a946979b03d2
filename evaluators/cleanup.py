"""Removing every trace of a candidate inside its sandbox: processes, then files. Standard library only.

Each function reports whether it fully succeeded; the server replaces the whole sandbox (and with it the PID
namespace and the ``/tmp`` file system) when one did not, so nothing a candidate leaves can meet the next one.
"""

from __future__ import annotations

import os
import signal
import time


def kill_all_but(keep: set[int], rounds: int = 200) -> bool:
    """SIGKILL every process of the PID namespace not in ``keep`` until none is left; False if some survive."""
    for _ in range(rounds):
        others = [pid for pid in _live_pids() if pid not in keep]
        if not others:
            return True
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.001)
    return False


def kill_session(pid: int) -> bool:
    """Without a PID namespace: the candidate's session and process group (a ``setsid`` grandchild escapes)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return True


def ancestors_and_self() -> set[int]:
    keep, pid = set(), os.getpid()
    while pid > 0 and pid not in keep:
        keep.add(pid)
        pid = _parent_of(pid)
    return keep


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return int(stat_file.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _live_pids() -> list[int]:
    """Processes that can still run (zombies are dead: they only wait for their parent to reap them)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat_file:
                state = stat_file.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            pids.append(int(name))
    return pids


def remove_tree(path: str, deadline: float) -> bool:
    """Remove the directory ``path`` and everything under it, however deep; False on any failure or past
    ``deadline`` (``time.monotonic``).

    It walks down with one open directory at a time, by descriptors relative to the one above (never by full
    path, which a deep tree makes too long for the kernel) and keeps only the names on the way down: neither the
    depth nor the width of a tree can exhaust the stack, the descriptors or the path length.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    names: list[str] = []
    try:
        while True:
            if time.monotonic() > deadline:
                return False
            below = _empty_but_one_directory(fd)
            if below is not None:
                child = os.open(below, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = child
                names.append(below)
                continue
            if not names:
                break
            parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(names.pop(), dir_fd=fd)
        os.close(fd)
        fd = -1
        os.rmdir(path)
        return True
    except OSError:
        return False
    finally:
        if fd >= 0:
            os.close(fd)


def _empty_but_one_directory(fd: int) -> str | None:
    """Unlink every non-directory in the directory ``fd``; the name of a subdirectory left, or None if empty."""
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                return entry.name
            os.unlink(entry.name, dir_fd=fd)
    return None
