"""What the poller needs from BILL, as small protocols (`bill_client.BillClient` is one).

The poller sees records, not pages: the client reads every page by its page token. A record
needs only its id and its `updatedTime`; the rest goes into the event as the mapping reads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol


class ChangedRecord(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def updated_time(self) -> datetime: ...


class Subscription(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def enabled(self) -> bool: ...


class BillSource(Protocol):
    """One organization's BILL, through one session."""

    def vendors(self, *, updated_since: datetime) -> AsyncIterator[ChangedRecord]: ...

    def bills(self, *, updated_since: datetime) -> AsyncIterator[ChangedRecord]: ...

    async def subscriptions(self) -> Sequence[Subscription]: ...

    async def enable_subscription(self, subscription_id: str) -> Subscription: ...
