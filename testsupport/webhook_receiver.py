"""A local HTTP receiver for the budget alerts' webhook: it records what it is sent and
answers with the statuses a test scripts (then 200)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One POST as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """What was sent, and the statuses still to answer (200 once they run out)."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Received) -> int:
        with self.lock:
            self.received.append(request)
            return self.statuses.pop(0) if self.statuses else 200


@contextmanager
def webhook_receiver(
    path: str = "/hooks/T000/B000/secret-token",
    *,
    listen: str = "127.0.0.1",
    advertised_host: str = "127.0.0.1",
) -> Iterator[Receiver]:
    """A receiver on a free port of ``listen``, reached as ``advertised_host`` (a container
    reaches the machine as ``host.docker.internal``); its URL carries a token-like path, as
    Slack's do."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            status = receiver.answer(Received(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads ``received``."""

    server = ThreadingHTTPServer((listen, 0), Handler)
    receiver = Receiver(f"http://{advertised_host}:{server.server_address[1]}{path}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
