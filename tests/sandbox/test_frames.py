"""Frames between the framework, the sandbox server and the candidate's process."""

from __future__ import annotations

import os
import time

import pytest

from evaluators.frames import FrameReader, OutputTail, PeerGone, write_frame


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "big") + payload


@pytest.fixture(params=[0.0, 100e-6], ids=["blocking", "spinning"])
def pipe(request):
    read, write = os.pipe()
    yield FrameReader(read, request.param), write
    for fd in (read, write):
        try:
            os.close(fd)
        except OSError:
            pass


def test_frames_arriving_together_or_in_pieces_come_out_whole_and_in_order(pipe):
    reader, write = pipe
    os.write(write, frame(b"one") + frame(b"") + frame(b"three")[:5])
    assert reader.read(100) == b"one"
    assert reader.read(100) == b""
    os.write(write, frame(b"three")[5:] + frame(b"x" * 60_000))  # within what a pipe holds
    assert reader.read(100) == b"three"
    assert reader.read(100_000) == b"x" * 60_000


def test_a_frame_over_the_limit_is_refused_before_it_is_read(pipe):
    reader, write = pipe
    os.write(write, (1 << 40).to_bytes(8, "big"))
    with pytest.raises(ValueError, match="exceeds the limit"):
        reader.read(1 << 20)


def test_end_of_stream_and_deadline(pipe):
    reader, write = pipe
    with pytest.raises(TimeoutError):
        reader.read(100, time.perf_counter() + 0.05)
    os.write(write, frame(b"abc")[:4])
    os.close(write)
    with pytest.raises(PeerGone):
        reader.read(100, time.perf_counter() + 1.0)


def test_waiting_drains_the_candidates_output_and_keeps_its_first_bytes(pipe):
    reader, write = pipe
    stdio_read, stdio_write = os.pipe()
    tail = OutputTail(stdio_read, cap=10)
    pid = os.fork()
    if pid == 0:  # prints far more than a pipe holds before it answers
        os.write(stdio_write, b"0123456789" + b"x" * 200_000)
        write_frame(write, b"answer")
        os._exit(0)
    os.close(stdio_write)
    assert reader.read(100, time.perf_counter() + 5.0, tail) == b"answer"
    os.waitpid(pid, 0)
    assert tail.text() == "0123456789"
    os.close(stdio_read)
