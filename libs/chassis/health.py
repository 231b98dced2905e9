"""Health and Prometheus metrics over HTTP for every service.

`/healthz` says the process is alive, `/readyz` whether the service's readiness check passes
(for example: its consumer has an assignment), `/metrics` is the Prometheus text format.
A plain threaded server keeps this independent of each service's own event loop.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger(__name__)


class _LoggingServer(ThreadingHTTPServer):
    """A request that fails is logged like everything else (JSON), not printed to stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            # The prober gave up waiting (its timeout) and closed: nothing failed here.
            log.debug("health client went away", extra={"client": str(client_address)})
            return
        log.error("health request failed", exc_info=True, extra={"client": str(client_address)})


class HealthServer:
    def __init__(self, *, port: int = 0, ready: Callable[[], bool] = lambda: True) -> None:
        self._ready = ready
        self._server = _LoggingServer(("0.0.0.0", port), self._handler())  # noqa: S104
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        ready = self._ready

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    self._reply(200, b"ok\n", "text/plain")
                elif self.path == "/readyz":
                    ok = ready()
                    body = b"ready\n" if ok else b"not ready\n"
                    self._reply(200 if ok else 503, body, "text/plain")
                else:
                    self._reply(404, b"not found\n", "text/plain")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
