"""A real OpenAI-compatible HTTP server on 127.0.0.1 that answers chat completions from a script.

Tests talk to it through the real client stack (litellm, the openai SDK, httpx), so retries, timeouts and
error mapping are exercised end to end without a network or an API key::

    with FakeOpenAI(ok("hello")) as server:
        client = LLMClient(api_base=server.base_url)
        ...
        server.script(status(429, headers={"Retry-After": "0.2"}), ok("again"))
        assert len(server.requests) == 3

Each request to ``/v1/chat/completions`` (or ``/chat/completions``) takes the next scripted reply; once the
script is used up the server answers 500 with a message that says so, so a test that forgot a reply fails
with a clear reason instead of hanging; or, given a ``responder``, asks it for the reply (an endless stream).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_COMPLETION_PATHS = ("/v1/chat/completions", "/chat/completions")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer.

    Attributes:
        status: the HTTP status code.
        body: the response body; a dict or list is sent as JSON, a str as UTF-8 text.
        headers: extra response headers as (name, value) pairs, e.g. ``(("Retry-After", "0.2"),)``.
        delay_seconds: how long the server waits before answering (to provoke client timeouts).
        content_type: the Content-Type header.
    """

    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()
    delay_seconds: float = 0.0
    content_type: str = "application/json"

    def encoded_body(self) -> bytes:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode()
        return str(self.body).encode()


def ok(text: str, prompt_tokens: int = 10, completion_tokens: int = 5, model: str | None = None) -> Reply:
    """A successful chat.completion whose ``choices[0].message.content`` is ``text``.

    The answer names ``model``, or by default the model the request asked for, as real servers do.
    """
    body = {
        "id": f"chatcmpl-fake-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return Reply(200, body)


def status(code: int, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    """An error answer (429, 500, 503, 401, 400, ...) with an OpenAI-style error body unless one is given."""
    if body is None:
        body = {"error": {"message": f"scripted status {code}", "type": "fake_error", "param": None, "code": None}}
    return Reply(code, body, tuple((headers or {}).items()))


def delay(seconds: float, then: Reply) -> Reply:
    """``then``, answered only after ``seconds`` (on top of any delay ``then`` already has)."""
    return dataclasses.replace(then, delay_seconds=then.delay_seconds + seconds)


def garbage() -> Reply:
    """A 200 whose body is not JSON although it claims to be."""
    return Reply(200, "<html><body>502 Bad Gateway from a confused proxy</body></html>")


def empty() -> Reply:
    """A well-formed completion whose content is the empty string."""
    return ok("", completion_tokens=0)


class FakeOpenAI:
    """The server, running in a background thread from construction (or ``with``) until ``close``.

    Args:
        replies: the initial script; more can be appended with ``script``.
        responder: answers each request once the script is used up, from its parsed body (called under the
            server's lock, one request at a time); without one such a request gets the "exhausted" 500.
        models: what ``GET /v1/models`` lists; None: that path is a 404, as on servers without a model list.

    Attributes:
        requests: every received request body, parsed from JSON (a str when it was not JSON), in arrival order.
        keys: the bearer key each of those requests sent ("" for none), in the same order.
    """

    def __init__(
        self, *replies: Reply, responder: Callable[[Any], Reply] | None = None, models: list[str] | None = None
    ):
        self.models = models
        self.requests: list[Any] = []
        self.keys: list[str] = []
        self._script: deque[Reply] = deque(replies)
        self._responder = responder
        self._answered = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()  # ends scripted delays early at shutdown, so close never waits on them
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ``http://127.0.0.1:PORT/v1``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        """Append replies to the script; they are used in order, one per request."""
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        """How many scripted replies have not been used yet."""
        with self._lock:
            return len(self._script)

    def close(self) -> None:
        """Stop serving and release the port; idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()  # keep-alive handlers would otherwise wait on idle client sockets
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _take(self, body: Any, authorization: str) -> Reply:
        """Record a completion request and pop its reply (a 500 that says so when the script is used up)."""
        with self._lock:
            self.requests.append(body)
            self.keys.append(authorization.removeprefix("Bearer "))
            if self._script:
                self._answered += 1
                return self._script.popleft()
            if self._responder is not None:
                self._answered += 1
                return self._responder(body)
            message = f"FakeOpenAI: script exhausted after {self._answered} replies (request {len(self.requests)})"
        return status(500, {"error": {"message": message, "type": "fake_script_exhausted"}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections when tests fire many requests at once
    fake: FakeOpenAI

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def drop_connections(self) -> None:
        with self.connections_lock:
            open_sockets = list(self.connections)
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API does; every answer sets Content-Length
    disable_nagle_algorithm = True  # otherwise each answer waits ~40 ms for a delayed ACK

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:  # noqa: N802
        models = self.server.fake.models
        if self.path.split("?")[0].rstrip("/") not in ("/v1/models", "/models") or models is None:
            self._send(status(404, {"error": {"message": f"FakeOpenAI serves no {self.path}"}}))
            return
        self._send(Reply(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in models]}))

    def do_POST(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0].rstrip("/") not in _COMPLETION_PATHS:
            self._send(status(404, {"error": {"message": f"FakeOpenAI serves no {self.path}"}}))
            return
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        reply = self.server.fake._take(body, self.headers.get("Authorization") or "")
        if isinstance(reply.body, dict) and "model" in reply.body and reply.body["model"] is None:
            asked = body.get("model") if isinstance(body, dict) else None
            reply = dataclasses.replace(reply, body={**reply.body, "model": asked or "fake-model"})
        if reply.delay_seconds and self.server.fake._stop.wait(reply.delay_seconds):
            self.close_connection = True  # shutting down: drop the answer
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        payload = reply.encoded_body()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean
