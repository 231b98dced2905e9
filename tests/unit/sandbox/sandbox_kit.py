"""Helpers shared by the sandbox tests: a frozen demo config, a Visma token, and the sandbox
served on a loopback socket for official SDKs that cannot call an ASGI app in-process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import uvicorn

from sandbox import SandboxConfig, create_app

START = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
DEMO_FORM = {
    "grant_type": "client_credentials",
    "client_id": "mlc-demo",
    "client_secret": "mlc-demo-secret",
    "tenant_id": "tenant-se-1",
    "scope": "vismanet_erp_service_api:read",
}
SLACK_AUTH = {"Authorization": "Bearer xoxb-mlc-demo-token"}


def frozen_config(**visma: object) -> SandboxConfig:
    """The demo config on a clock stopped at START, with Visma overrides."""
    return SandboxConfig.model_validate(
        {"clock_speed": 0, "clock_start": START, "visma": {"invoices_per_company": 7, **visma}}
    )


async def visma_token(client: httpx.AsyncClient, tenant: str = "tenant-se-1") -> dict[str, str]:
    response = await client.post("/visma/connect/token", data={**DEMO_FORM, "tenant_id": tenant})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def entity_key(entity: str, item: dict[str, object]) -> str:
    """The entity_id (docs/visma-entities.md) of a DTO, e.g. ``Invoice:100001``."""
    from sandbox.visma.entities import SPECS_BY_NAME

    return SPECS_BY_NAME[entity].entity_id(item)


@contextmanager
def served_on_loopback(config: SandboxConfig) -> Iterator[str]:
    """The sandbox under uvicorn on a socket bound here; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # connections wait in the backlog until uvicorn serves
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    host, port = listener.getsockname()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
