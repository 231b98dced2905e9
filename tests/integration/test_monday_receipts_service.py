"""The monday receipts service on the real broker, in the test's loop, monday faked.

Its wiring, which the unit tests cannot see: the link view read at start, the runner
consuming column changes into receipt commands on the writer's topic, the reconciliation's
events and cursor committed together, and a restart going on from that cursor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics
from events._avro import AvroModel
from events.monday import MondayColumnChanged, MondayItemLinked
from events.visma_writes import RecordPurchaseReceipt
from monday_receipts.config import ReceiptsConfig, ReceiptsFile, ReceiptsSettings
from monday_receipts.inject import ReceiptsOptions, ReceiptsTopics, build

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
TENANT, COMPANY, BOARD = "tenant-se-1", "tenant-se-1", "1000000001"
CONFIG = ReceiptsConfig(ReceiptsFile.model_validate(
    {"tenants": {TENANT: {"boards": [{"board": BOARD, "company": COMPANY}]}}}))  # fmt: skip
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Column:
    id: str
    title: str
    type: str


@dataclass
class Item:
    id: str
    updated_at: datetime
    texts: dict[str, str]

    def text(self, column_id: str) -> str | None:
        return self.texts.get(column_id)


@dataclass
class Board:
    """monday as the reconciliation reads it: one board, items marked by a warehouse user."""

    columns: Sequence[Column] = (Column("text_visma_id", "Visma ID", "text"),
                                 Column("status_receipt", "Receipt", "status"))  # fmt: skip
    items: dict[str, Item] = field(default_factory=dict)
    closed: bool = False

    def mark(self, item_id: str, order: str, at: datetime) -> None:
        self.items[item_id] = Item(item_id, at, {
            "status_receipt": "Received",
            "text_visma_id": f"{COMPANY}/purchaseOrder/RegularOrder:{order}"})  # fmt: skip

    async def board(self, board_id: str) -> Board:
        return self

    async def _since(self, since: datetime | None) -> AsyncIterator[Item]:
        for item in list(self.items.values()):
            if since is None or item.updated_at >= since:
                yield item

    def items_of(self, since: datetime | None) -> AsyncIterator[Item]:
        return self._since(since)

    async def close(self) -> None:
        self.closed = True


class Reader:
    def __init__(self, board: Board) -> None:
        self.board_ = board

    async def board(self, board_id: str) -> Board:
        return self.board_

    def items(self, board_id: str, *, updated_since: datetime | None = None) -> AsyncIterator[Item]:
        return self.board_.items_of(updated_since)


class Rig:
    def __init__(self, kafka_bootstrap: str, unique: str) -> None:
        self.kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
        self.settings = ReceiptsSettings(
            group_id=f"receipts-{unique}", topic_prefix=f"receipts-{unique}.",
            link_wait_seconds=0, reconcile_every_seconds=0.2, reconcile_overlap_seconds=60,
            transactional_id=f"receipts-{unique}-reconcile",
        )  # fmt: skip
        self.topics = ReceiptsTopics.of(self.settings)
        t = self.topics
        admin = AdminClient(self.kafka.client_config("receipts-rig"))
        ensure_topics(admin, [t.changes, t.links, t.commands, t.cursors], replication_factor=1)
        self.producer = EventProducer(self.kafka, "receipts-rig")
        self.board = Board()

    def send(self, topic: str, model: AvroModel, key: str) -> None:
        self.producer.send(topic, key=key, value=SERDE.encode(model.SCHEMA, model.to_record()))
        self.producer.flush(60)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        options = ReceiptsOptions(reader=Reader(self.board), close_reader=self.board.close)
        app = await asyncio.to_thread(build, self.kafka, self.settings, CONFIG, options)
        running = asyncio.create_task(app.run())
        try:
            yield
        finally:
            app.stop()
            await asyncio.wait_for(running, 60)

    def read(self, topic: str) -> list[bytes]:
        return [value for _, value in iter_to_end(self.kafka, topic, client="receipts-rig-read")]

    def commands(self) -> list[RecordPurchaseReceipt]:
        values = self.read(self.topics.commands.name)
        return [RecordPurchaseReceipt.from_record(SERDE.decode(v)[1]) for v in values]

    def changes(self) -> list[MondayColumnChanged]:
        values = self.read(self.topics.changes.name)
        return [MondayColumnChanged.from_record(SERDE.decode(v)[1]) for v in values]

    async def until(self, what: str, done: Callable[[], bool], *, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while not await asyncio.to_thread(done):
            assert time.monotonic() < deadline, f"{what} did not happen within {within}s"
            await asyncio.sleep(0.2)


def webhook_change(item_id: str) -> MondayColumnChanged:
    now = datetime.now(UTC)
    return MondayColumnChanged(
        tenant_id=TENANT, account_id="9000001", board_id=BOARD, item_id=item_id,
        column_id="status_receipt", column_title="Receipt", column_type="status",
        value_text="Received", previous_text="Pending", changed_at=now, source="webhook",
        trigger_uuid=f"trigger-{item_id}", received_at=now,
    )  # fmt: skip


def test_webhook_and_reconciled_changes_become_one_command_per_order(
    kafka_bootstrap: str, unique: str
) -> None:
    rig = Rig(kafka_bootstrap, unique)
    asyncio.run(scenario(rig))


async def scenario(rig: Rig) -> None:
    link = MondayItemLinked(
        tenant_id=TENANT, board_id=BOARD, item_id="42",
        visma_id=f"{COMPANY}/purchaseOrder/RegularOrder:PO-7", entity_type="purchaseOrder",
        entity_id="RegularOrder:PO-7", company_id=COMPANY,
    )  # fmt: skip
    rig.send(rig.topics.links.name, link, link.key)
    rig.board.mark("99", "PO-OLD", T0)  # received before the connector watched the board

    async with rig.running():
        change = webhook_change("42")
        rig.send(rig.topics.changes.name, change, change.key)  # the ingress stored a webhook
        await rig.until("the webhook's command", lambda: len(rig.commands()) == 1)
        rig.board.mark("43", "PO-8", T0 + timedelta(minutes=5))  # its webhook was lost
        await rig.until("the reconciled command", lambda: len(rig.commands()) == 2)

    by_order = {c.order_number: c for c in rig.commands()}
    assert set(by_order) == {"PO-7", "PO-8"}, "nothing for the item marked before watching"
    assert by_order["PO-7"].source_ref == f"{BOARD}/42"
    assert "/reconciliation/" in by_order["PO-8"].source_event_id
    assert rig.board.closed
    reconciled = [c for c in rig.changes() if c.source == "reconciliation"]
    assert [c.item_id for c in reconciled] == ["43"]
    assert reconciled[0].visma_id == f"{COMPANY}/purchaseOrder/RegularOrder:PO-8"

    # A restart goes on from the committed cursor: item 43 is not published again.
    async with rig.running():
        rig.board.mark("44", "PO-9", T0 + timedelta(minutes=9))
        await rig.until("the next reconciled command", lambda: len(rig.commands()) == 3)

    assert sorted(c.item_id for c in rig.changes() if c.source == "reconciliation") == ["43", "44"]
    assert len({c.command_id for c in rig.commands()}) == 3
