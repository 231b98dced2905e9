"""The ingress app in process for the webhook route tests: a fake sender behind an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fake_sender import FakeSender
from slack_sdk.signature import Clock

from chassis.serde import AvroSerde, SchemaCatalog
from ingress.app import create_app
from ingress.config import IngressSettings

SERDE = AvroSerde(SchemaCatalog.load())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def ingress_client() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Builds the app with `settings` storing through `sender` (Slack timestamps checked
    against `slack_clock`, default the real clock); every client is closed after."""
    clients: list[httpx.AsyncClient] = []

    def make(
        sender: FakeSender, *, slack_clock: Clock | None = None, **settings: Any
    ) -> httpx.AsyncClient:
        app = create_app(
            settings=IngressSettings(**settings), send=sender, serde=SERDE, slack_clock=slack_clock
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://in")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
