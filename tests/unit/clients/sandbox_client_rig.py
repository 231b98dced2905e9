"""What every client-against-the-sandbox kit needs: a transport into the sandbox app that
keeps each request, and the client's clock and sleep on the sandbox's frozen clock, so a
wait or an idle hour is sandbox time and none is real."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from sandbox.clock import SandboxClock


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to the sandbox app and keeps them."""

    def __init__(self, app: FastAPI) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self._inner.handle_async_request(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@dataclass
class SandboxTime:
    """The client's clock and sleep, on the sandbox's clock."""

    clock: SandboxClock
    slept: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.clock.time()

    async def sleep(self, seconds: float) -> None:
        # Callers sleeping at once share the time that passes: the clock reaches the
        # latest end asked for, not the sum of every wait.
        self.slept.append(seconds)
        until = self.clock.time() + seconds
        await asyncio.sleep(0)
        if self.clock.time() < until:
            self.clock.advance(until - self.clock.time())
