"""The ingress's send (store to Kafka) recorded in memory, for the webhook route tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sent:
    topic: str
    key: str | None
    value: bytes
    headers: Any


@dataclass
class FakeSender:
    """Records each send once `behaviour` (which may raise or wait) returns."""

    sent: list[Sent] = field(default_factory=list)
    behaviour: Callable[[], Awaitable[None]] | None = None
    calls: int = 0
    called: asyncio.Event = field(default_factory=asyncio.Event)
    recorded: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, topic: str, *, key: str | None, value: bytes, headers: Any) -> None:
        self.calls += 1
        self.called.set()
        if self.behaviour is not None:
            await self.behaviour()
        self.sent.append(Sent(topic, key, value, headers))
        self.recorded.set()
