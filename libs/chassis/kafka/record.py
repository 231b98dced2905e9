"""The record a handler receives: decoded value plus where it came from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any


@asynccontextmanager
async def _unpaced() -> AsyncIterator[None]:
    yield


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    raw: bytes
    headers: list[tuple[str, bytes]]
    schema: str = ""
    value: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    paced: Callable[[], AbstractAsyncContextManager[None]] = _unpaced
    """`async with record.paced():` around the rate-limited call waits for this key's turn;
    the handler's own work before the call (a ledger write) does not eat the spacing."""

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"
