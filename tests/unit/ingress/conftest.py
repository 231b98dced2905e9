"""The ingress app in process for the webhook route tests: a fake sender behind an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fake_sender import FakeSender

from chassis.serde import AvroSerde, SchemaCatalog
from ingress.app import create_app
from ingress.config import IngressSettings

SERDE = AvroSerde(SchemaCatalog.load())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def ingress_client() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Builds the app with `settings` storing through `sender`; every client is closed after."""
    clients: list[httpx.AsyncClient] = []

    def make(sender: FakeSender, **settings: Any) -> httpx.AsyncClient:
        app = create_app(settings=IngressSettings(**settings), send=sender, serde=SERDE)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://in")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
