"""The Monday side of the delivery ledger: one entry per command, and which item holds each
Visma record of a board.

    (none) ──▶ PENDING ──▶ DONE (item id, CREATED or UPDATED)

PENDING is written (and confirmed by Kafka) before the first call that may create or change
an item, so after a crash the entry says an item may exist without the ledger knowing it: the
sink then looks the record up by its Visma ID column before it creates anything. DONE keeps
the item id. A board's commands share one key, hence one partition, so the DONE entries of
the assigned partitions also index the board's items by Visma id: a later version of a
record updates its item. The index is rebuilt from the chassis ledger whenever entries leave
memory (expiry, revoke), so it is exactly as bounded as the ledger; an expired entry's item
is found again by the lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime

from chassis.kafka.expiry import Expiry
from chassis.kafka.ledger import CommandLedger
from chassis.kafka.producer import EventProducer
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events.commands import CreateMondayItem
from events.monday_deliveries import MondayAction, MondayDelivery, MondayDeliveryStatus

BoardRecord = tuple[str, str, str]
"""(tenant, board id, Visma id): one Visma record on one board."""


class Ledger:
    def __init__(
        self,
        *,
        sink: str,
        topic: str,
        producer: EventProducer,
        serde: AvroSerde,
        expiry: Expiry | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self._commands = CommandLedger(
            MondayDelivery, topic=topic, producer=producer, serde=serde,
            client=f"{sink}-ledger", expiry=expiry, clock=clock, on_removed=self._relearn,
        )  # fmt: skip
        self._items: dict[BoardRecord, str] = {}

    def load(self, settings: KafkaSettings, partitions: Collection[int]) -> int:
        """Reads the entries of the assigned partitions; returns how many are live."""
        known = self._commands.load(settings, partitions)
        self._relearn()
        return known

    def forget(self, partitions: Collection[int]) -> None:
        self._commands.forget(partitions)

    def get(self, command_id: str) -> MondayDelivery | None:
        return self._commands.get(command_id)

    def item_of(self, command: CreateMondayItem) -> str | None:
        """The item the ledger knows holds the command's Visma record on its board."""
        if command.visma_id is None:
            return None
        return self._items.get((command.tenant_id, command.board_id, command.visma_id))

    async def pending(self, commands: Sequence[CreateMondayItem]) -> list[MondayDelivery]:
        """Written before a call that may create or change the commands' items."""
        now = self._clock()
        entries = []
        for command in commands:
            previous = self.get(command.command_id)
            entries.append(
                MondayDelivery(
                    command_id=command.command_id,
                    status=MondayDeliveryStatus.PENDING,
                    tenant_id=command.tenant_id,
                    board_id=command.board_id,
                    at=now,
                    visma_id=command.visma_id,
                    first_attempt_at=(previous.first_attempt_at if previous else None) or now,
                    attempts=(previous.attempts if previous else 0) + 1,
                    entity_type=command.entity_type,
                    entity_id=command.entity_id,
                )
            )
        await self._write(entries)
        return entries

    async def done(
        self, entries: Sequence[MondayDelivery], *, items: Sequence[str], action: MondayAction
    ) -> list[MondayDelivery]:
        """The calls went through: entry i's command is item `items[i]`."""
        now = self._clock()
        finished = [
            entry.model_copy(
                update={
                    "status": MondayDeliveryStatus.DONE,
                    "item_id": item,
                    "action": action,
                    "at": now,
                }
            )
            for entry, item in zip(entries, items, strict=True)
        ]
        await self._write(finished)
        return finished

    async def _write(self, entries: list[MondayDelivery]) -> None:
        await self._commands.write_all(entries)
        self._learn(entries)

    def _relearn(self) -> None:
        """The index from scratch, oldest entry first: a record's newest item wins (its
        item may have been replaced after someone deleted the first)."""
        self._items.clear()
        self._learn(sorted(self._commands.entries(), key=lambda entry: entry.at))

    def _learn(self, entries: Iterable[MondayDelivery]) -> None:
        for entry in entries:
            if entry.status is MondayDeliveryStatus.DONE and entry.visma_id and entry.item_id:
                self._items[(entry.tenant_id, entry.board_id, entry.visma_id)] = entry.item_id
