"""Which Visma record each monday item is: the Monday sink's links, read whole into a view.

`monday.item.v1` is compacted and keyed like the changes (`<board>/<item>`); every replica
reads all of it, whatever partitions of the changes it owns. A change can be read a moment
before the link written just ahead of it, so a lookup waits briefly for a missing key.
"""

from __future__ import annotations

import asyncio
from typing import Any

from chassis.kafka.view import CompactedView
from chassis.serde import AvroSerde
from events.monday import MondayItemLinked, item_key


def decode_link(serde: AvroSerde, raw: bytes) -> MondayItemLinked:
    _, record = serde.decode(raw)
    return MondayItemLinked.from_record(record)


class ViewLinks:
    def __init__(self, view: CompactedView[Any], *, wait_seconds: float) -> None:
        self._view = view
        self._wait = wait_seconds

    async def link_of(self, board_id: str, item_id: str) -> MondayItemLinked | None:
        key = item_key(board_id, item_id)
        link = self._view.get(key)
        if link is None and self._wait > 0:
            link = await asyncio.to_thread(self._view.wait_for, key, self._wait)
        return link if isinstance(link, MondayItemLinked) else None
