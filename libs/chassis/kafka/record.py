"""The record a handler receives (decoded value plus where it came from), and the two
things beyond success and failure a handler may answer: hold the record, or take several."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from chassis.errors import ConnectorError


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
    held: bool = False
    paced: Callable[[], AbstractAsyncContextManager[None]] = _unpaced
    """`async with record.paced():` around the rate-limited call waits for this key's turn;
    the handler's own work before the call (a ledger write) does not eat the spacing."""

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class Held(ConnectorError):
    """Raised by a handler that cannot go on until something outside changes (a revoked
    credential is replaced): the records are kept, neither retried on a timer nor
    dead-lettered, and not committed past. The runner waits for `released()` and then calls
    the handler again; on shutdown or a revoke it lets go and the records are redelivered.
    """

    def __init__(self, message: str, *, released: Callable[[], Awaitable[object]]) -> None:
        super().__init__(message)
        self.released = released


BatchHandler = Callable[[list[Record]], Awaitable[None]]


@dataclass(frozen=True)
class Batching:
    """Lets one handler call take several queued records of one key (a digest).

    When a key's queue is longer than `queue_over`, the runner hands up to `max_records`
    records from its head to `handler` in one call, stopping at the first record that is
    not `foldable`. The call's outcome is every record's outcome (done, retried together,
    dead-lettered together), and each is committed like any other record.
    """

    handler: BatchHandler
    queue_over: int
    max_records: int
    foldable: Callable[[Record], bool] = lambda record: True
