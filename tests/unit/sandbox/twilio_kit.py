"""The official `twilio.rest.Client` pointed at a served sandbox by overriding its API
domain's base URL (the client sends with `requests`, so the sandbox runs on a socket)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sandbox_kit import served_on_loopback
from twilio.rest import Client

from sandbox import SandboxConfig
from sandbox.twilio.config import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN


class ServedSandbox:
    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = httpx.Client(base_url=f"{url}/twilio/_sandbox", timeout=10)

    def client(self, username: str = DEMO_ACCOUNT_SID, password: str = DEMO_AUTH_TOKEN) -> Client:
        client = Client(username, password, account_sid=DEMO_ACCOUNT_SID)
        client.api.base_url = f"{self.url}/twilio"  # the domain override
        return client

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock; the status changes it reaches and their callbacks are done
        when this returns."""
        response = self.admin.post("/clock", json={"advance_seconds": seconds})
        response.raise_for_status()
        self.admin.post("/drain").raise_for_status()


@contextmanager
def served(config: SandboxConfig) -> Iterator[ServedSandbox]:
    with served_on_loopback(config) as url:
        running = ServedSandbox(url)
        try:
            yield running
        finally:
            running.admin.close()
