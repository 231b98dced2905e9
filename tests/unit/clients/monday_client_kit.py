"""The monday client against the sandbox in-process: the sandbox's clock is frozen and the
client's sleep moves it forward, so every wait is counted in sandbox seconds and none is real.
`RecordingTransport` keeps each request so a test can see what went over the wire."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sandbox_client_rig import RecordingTransport, SandboxTime

from monday_client import ComplexityBudget, LimitPolicy, MondayClient
from sandbox import SandboxConfig, create_app
from sandbox.monday.config import DEMO_MONDAY_TOKEN
from sandbox.monday.state import MondayState

START = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
BOARD = "1000000001"  # the seeded procurement board
VISMA_ID = "text_visma_id"
BASE_URL = "http://sandbox/monday"


@dataclass
class Rig:
    app: FastAPI
    transport: RecordingTransport
    time: SandboxTime
    client: MondayClient

    @property
    def monday(self) -> MondayState:
        return self.app.state.sandbox.monday  # type: ignore[no-any-return]

    def another_client(
        self, token: str = DEMO_MONDAY_TOKEN, *, budget: ComplexityBudget | None = None
    ) -> MondayClient:
        """A second client on the same token and sandbox: its own budget unless given one."""
        return client_for(self.app, self.time, token=token, budget=budget)

    async def fault(self, **rule: object) -> None:
        """Injects a fault through the sandbox's admin API."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as admin:
            added = await admin.post("/_sandbox/faults", json=rule)
        assert added.is_success, added.text

    def seed_items(self, count: int, *, values: dict[str, object] | None = None) -> list[str]:
        board = self.monday.board(BOARD)
        return [
            self.monday.create_item(
                board.id, f"seeded {n}", group_id=None, values=values or {}, create_labels=False
            ).id
            for n in range(count)
        ]


def sandbox_app(*, clock_speed: float = 0, **monday: Any) -> FastAPI:
    config = SandboxConfig.model_validate(
        {"clock_speed": clock_speed, "clock_start": START, "monday": monday}
    )
    return create_app(config)


def client_for(
    app: FastAPI,
    time: SandboxTime,
    *,
    token: str = DEMO_MONDAY_TOKEN,
    transport: httpx.AsyncBaseTransport | None = None,
    limits: LimitPolicy | None = None,
    budget: ComplexityBudget | None = None,
) -> MondayClient:
    return MondayClient(
        SecretStr(token),
        base_url=BASE_URL,
        transport=transport or httpx.ASGITransport(app=app),
        clock=time.time,
        sleep=time.sleep,
        rng=random.Random(7),
        budget=budget,
        **({} if limits is None else {"limits": limits}),
    )


@asynccontextmanager
async def rig(*, limits: LimitPolicy | None = None, **monday: Any) -> AsyncIterator[Rig]:
    app = sandbox_app(**monday)
    time = SandboxTime(app.state.sandbox.clock)
    transport = RecordingTransport(app)
    async with client_for(app, time, transport=transport, limits=limits) as client:
        yield Rig(app, transport, time, client)
