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
    written = os.write(fd, data)
    if written < len(data):
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view) :]


class FrameReader:
    """Reads frames from one pipe, buffering what arrives beyond the current frame.

    A ping-pong of small frames (a policy and its simulator exchange one per decision) then costs one ``read``
    per frame, and the common case (an empty buffer, a whole small frame arriving at once) takes the short path.
    One reader per descriptor, for its whole life: the buffer belongs to the stream.

    With ``spin`` seconds, a reader whose process has a core to itself polls the pipe that long before it
    sleeps: the other side's answer, a few microseconds away, then arrives without the wake-up of a sleeping
    core (tens of microseconds on a virtual machine), which would dominate a policy's exchange per decision.
    """

    def __init__(self, fd: int, spin: float = 0.0):
        self.fd, self.spin = fd, spin
        if spin:
            os.set_blocking(fd, False)
        self._buffer = b""
        self._poll: select.poll | None = None
        self._polled_tail: int | None = None

    def read(self, limit: int, deadline: float | None = None, tail: OutputTail | None = None) -> bytes:
        """One frame; TimeoutError past ``deadline``, PeerGone on EOF, ValueError when longer than ``limit``."""
        if not self._buffer:
            buffer = self._chunk(_CHUNK, deadline, tail)
            size = int.from_bytes(buffer[:_HEADER], "big")
            if len(buffer) == _HEADER + size and size <= limit:  # one whole frame, nothing more: the usual case
                return buffer[_HEADER:]
            self._buffer = buffer
        buffer = self._buffer
        while len(buffer) < _HEADER:
            buffer += self._chunk(_CHUNK, deadline, tail)
        size = int.from_bytes(buffer[:_HEADER], "big")
        if size > limit:
            raise ValueError(f"output of {size} bytes exceeds the limit of {limit} bytes")
        end = _HEADER + size
        if len(buffer) < end:
            parts = [buffer]
            have = len(buffer)
            while have < end:
                parts.append(self._chunk(max(_CHUNK, min(end - have, 1 << 20)), deadline, tail))
                have += len(parts[-1])
            buffer = b"".join(parts)
        self._buffer = buffer[end:]
        return buffer[_HEADER:end]

    def _chunk(self, size: int, deadline: float | None, tail: OutputTail | None) -> bytes:
        if self.spin:
            chunk = self._spin(size, deadline, tail)
        else:
            if deadline is not None:
                self._wait_readable(deadline, tail)
            chunk = os.read(self.fd, size)
        if not chunk:
            raise PeerGone("end of stream")
        return chunk

    def _spin(self, size: int, deadline: float | None, tail: OutputTail | None) -> bytes:
        give_up = time.perf_counter() + self.spin
        while True:
            try:
                return os.read(self.fd, size)
            except BlockingIOError:
                if time.perf_counter() > give_up:
                    self._wait_readable(deadline, tail)

    def _wait_readable(self, deadline: float | None, tail: OutputTail | None) -> None:
        """Block until the pipe is readable, meanwhile keeping the candidate's stdout/stderr flowing."""
        tail_fd = tail.fd if tail is not None else None
        if self._poll is None or self._polled_tail != tail_fd:
            self._poll = select.poll()
            self._poll.register(self.fd, select.POLLIN)
            if tail_fd is not None:
                self._poll.register(tail_fd, select.POLLIN)
            self._polled_tail = tail_fd
        while True:
            timeout = None if deadline is None else deadline - time.perf_counter()
            if timeout is not None and timeout <= 0:
                raise TimeoutError
            ready = self._poll.poll(None if timeout is None else timeout * 1000.0)
            for fd, _ in ready:
                if fd == tail_fd:
                    tail.read_available()
                    if tail.fd is None:  # the candidate closed its stdout: stop watching it
                        self._poll.unregister(fd)
                        self._polled_tail = tail_fd = None
            if any(fd == self.fd for fd, _ in ready):
                return


class Channel:
    """The server's end of a candidate process's pipes: requests out, replies in, its stdout and stderr drained.

    Every exchange is timed here, from the request written to the whole reply read: the only clock a
    candidate's figures are taken from.
    """

    def __init__(self, to_child: int, from_child: int, stdio: int, reply_limit: int, spin: float = 0.0):
        self.to_child, self.reply_limit = to_child, reply_limit
        self.replies = FrameReader(from_child, spin)
        self.tail = OutputTail(stdio)

    def exchange(self, payload: bytes, seconds: float) -> tuple[bytes, float]:
        """Send ``payload``; the reply and the seconds it took. TimeoutError after ``seconds``."""
        started = time.perf_counter()
        write_frame(self.to_child, payload)
        reply = self.replies.read(self.reply_limit, started + seconds, self.tail)
        return reply, time.perf_counter() - started
