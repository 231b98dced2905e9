"""Which Slack message is about which Visma record: the Slack sink's ledger, indexed by message.

The ledger (contract: `events.deliveries`) is keyed by command id; a reaction names a
channel id and a message ts. This index is fed by a `CompactedView` over the ledger topic
(its decode step adds each DONE entry), so every replica knows every posted message. A person
can react within a moment of the post, before the sink's DONE entry has been read here, so a
lookup may wait, bounded, for the entry. The sink tombstones entries past its ledger horizon;
`remove` (the view's `on_removed`) drops them here too, so the index is bounded like the ledger.
PENDING entries whose post's outcome the sink has yet to learn are kept too (`pending_around`):
a message near one of them may be the connector's even though the view has read past it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timedelta

from chassis.serde import AvroSerde
from events.deliveries import DeliveryStatus, SinkDelivery


class PostedMessages:
    def __init__(self, serde: AvroSerde) -> None:
        self._serde = serde
        self._by_message: dict[tuple[str, str], SinkDelivery] = {}
        self._message_of: dict[str, tuple[str, str]] = {}
        """Command id -> its message (a digest message stands for several commands)."""
        self._commands_of: dict[tuple[str, str], set[str]] = {}
        self._pending: dict[str, tuple[str | None, datetime]] = {}
        """Command id -> channel id (None if not known yet) and time of a PENDING entry whose
        post may have happened (not one that says nothing was posted)."""
        self._changed = threading.Condition()

    def decode(self, raw: bytes) -> SinkDelivery:
        """The CompactedView's decoder: reads one ledger value and indexes it."""
        _, record = self._serde.decode(raw)
        delivery = SinkDelivery.from_record(record)
        self.add(delivery)
        return delivery

    def add(self, delivery: SinkDelivery) -> None:
        if delivery.status is DeliveryStatus.PENDING and not delivery.not_posted:
            self._pending[delivery.command_id] = (delivery.channel_id, delivery.at)
        else:
            self._pending.pop(delivery.command_id, None)
        if not delivery.posted or delivery.channel_id is None or delivery.ts is None:
            return
        message = (delivery.channel_id, delivery.ts)
        with self._changed:
            self._by_message[message] = delivery
            self._message_of[delivery.command_id] = message
            self._commands_of.setdefault(message, set()).add(delivery.command_id)
            self._changed.notify_all()

    def remove(self, command_id: str) -> None:
        """The command's ledger entry expired; its message goes once no command names it."""
        self._pending.pop(command_id, None)
        with self._changed:
            message = self._message_of.pop(command_id, None)
            if message is None:
                return
            commands = self._commands_of.get(message, set())
            commands.discard(command_id)
            if not commands:
                self._commands_of.pop(message, None)
                self._by_message.pop(message, None)

    def __len__(self) -> int:
        return len(self._by_message)

    def pending_around(self, channel_id: str, moment: datetime, *, margin: timedelta) -> bool:
        """Whether a PENDING entry in the channel (or in a channel not known yet) was written
        within `margin` of `moment`: its post, if it happened, may be the message at `moment`."""
        return any(
            channel in (channel_id, None) and abs(at - moment) <= margin
            for channel, at in list(self._pending.values())
        )

    def find(self, channel_id: str, ts: str) -> SinkDelivery | None:
        return self._by_message.get((channel_id, ts))

    async def wait_for(self, channel_id: str, ts: str, *, seconds: float) -> SinkDelivery | None:
        found = self.find(channel_id, ts)
        if found is not None or seconds <= 0:
            return found
        return await asyncio.to_thread(self._wait, (channel_id, ts), seconds)

    def _wait(self, key: tuple[str, str], timeout: float) -> SinkDelivery | None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while key not in self._by_message:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
            return self._by_message[key]


def workspace_and_channel(delivery: SinkDelivery) -> tuple[str, str]:
    """The sink writes `destination` as `workspace/channel`, as the command named them."""
    workspace, _, channel = delivery.destination.partition("/")
    return workspace, channel or (delivery.channel_id or "")
