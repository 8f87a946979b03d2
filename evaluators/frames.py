"""The wire format between the framework, the sandbox server and the candidate's process.

Frames of an 8-byte big-endian length followed by that many bytes. Between the framework and the server, and
from the candidate's process to the server, a frame holds UTF-8 JSON: nothing a candidate writes is ever
unpickled or unmarshalled. Standard library only: this module is imported inside the sandbox.
"""

from __future__ import annotations

import os
import select
import time

_HEADER = 8
_CHUNK = 1 << 16  # below malloc's mmap threshold: a small frame costs one read and no page mapping


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


class FrameReader:
    """Reads frames from one pipe, buffering what arrives beyond the current frame.

    A ping-pong of small frames (a policy and its simulator exchange one per decision) then costs one ``read``
    per frame rather than two. One reader per descriptor, for its whole life: the buffer belongs to the stream.
    """

    def __init__(self, fd: int):
        self.fd = fd
        self._buffer = bytearray()

    def read(self, limit: int, deadline: float | None = None, tail: OutputTail | None = None) -> bytes:
        """One frame; TimeoutError past ``deadline``, PeerGone on EOF, ValueError when longer than ``limit``."""
        buffer = self._buffer
        while len(buffer) < _HEADER:
            self._fill(_CHUNK, deadline, tail)
        size = int.from_bytes(buffer[:_HEADER], "big")
        if size > limit:
            raise ValueError(f"output of {size} bytes exceeds the limit of {limit} bytes")
        end = _HEADER + size
        while len(buffer) < end:
            self._fill(max(_CHUNK, min(end - len(buffer), 1 << 20)), deadline, tail)
        frame = bytes(buffer[_HEADER:end])
        del buffer[:end]
        return frame

    def _fill(self, size: int, deadline: float | None, tail: OutputTail | None) -> None:
        if deadline is not None:
            _wait_readable(self.fd, deadline, tail)
        chunk = os.read(self.fd, size)
        if not chunk:
            raise PeerGone("end of stream")
        self._buffer += chunk


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


class Channel:
    """The server's end of a candidate process's pipes: requests out, replies in, its stdout and stderr drained.

    Every exchange is timed here, from the request written to the whole reply read: the only clock a
    candidate's figures are taken from.
    """

    def __init__(self, to_child: int, from_child: int, stdio: int, reply_limit: int):
        self.to_child, self.reply_limit = to_child, reply_limit
        self.replies = FrameReader(from_child)
        self.tail = OutputTail(stdio)

    def exchange(self, payload: bytes, seconds: float) -> tuple[bytes, float]:
        """Send ``payload``; the reply and the seconds it took. TimeoutError after ``seconds``."""
        started = time.perf_counter()
        write_frame(self.to_child, payload)
        reply = self.replies.read(self.reply_limit, started + seconds, self.tail)
        return reply, time.perf_counter() - started
