"""The wire format between the framework, the sandbox server and the candidate's process.

Frames of an 8-byte big-endian length followed by that many bytes of UTF-8 JSON. Nothing is ever unpickled.
Standard library only: this module is imported inside the sandbox.
"""

from __future__ import annotations

import os
import select
import time

_HEADER = 8


class PeerGone(Exception):
    """The other end of a pipe closed before a whole frame arrived."""


class OutputTail:
    """The first ``cap`` bytes a candidate prints; the rest is read and dropped so it never blocks on a full pipe."""

    def __init__(self, fd: int, cap: int = 8192):
        self.fd: int | None = fd
        self.kept = bytearray()
        self.cap = cap

    def read_available(self) -> None:
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.fd = None
        elif len(self.kept) < self.cap:
            self.kept.extend(chunk[: self.cap - len(self.kept)])

    def text(self) -> str:
        return self.kept.decode("utf-8", "replace")


def write_frame(fd: int, payload: bytes) -> None:
    data = len(payload).to_bytes(_HEADER, "big") + payload
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int, limit: int, deadline: float | None = None, tail: OutputTail | None = None) -> bytes:
    """One frame; raises TimeoutError past ``deadline``, PeerGone on EOF, ValueError when over ``limit``."""
    size = int.from_bytes(_read_exact(fd, _HEADER, deadline, tail), "big")
    if size > limit:
        raise ValueError(f"output of {size} bytes exceeds the limit of {limit} bytes")
    return _read_exact(fd, size, deadline, tail)


def _read_exact(fd: int, size: int, deadline: float | None, tail: OutputTail | None) -> bytes:
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            _wait_readable(fd, deadline, tail)
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise PeerGone("end of stream")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _wait_readable(fd: int, deadline: float, tail: OutputTail | None) -> None:
    """Block until ``fd`` is readable, meanwhile keeping the candidate's stdout/stderr flowing."""
    while True:
        timeout = deadline - time.perf_counter()
        if timeout <= 0:
            raise TimeoutError
        watched = [fd] + ([tail.fd] if tail is not None and tail.fd is not None else [])
        ready, _, _ = select.select(watched, [], [], timeout)
        if tail is not None and tail.fd in ready:
            tail.read_available()
        if fd in ready:
            return
