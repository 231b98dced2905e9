"""The Slack ledger's own indexes (a document's message, the versions it has shown) stay as
bounded as the chassis ledger: entries that expire or are revoked leave them too."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

import pytest

from chassis.kafka.expiry import Expiry
from chassis.kafka.handling import handling
from chassis.kafka.producer import Delivery
from chassis.kafka.record import Record
from chassis.serde import AvroSerde, SchemaCatalog
from events import PostSlackMessage
from slack_client.models import PostedMessage
from slack_sink.ledger import Ledger

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Producer:
    def send(self, topic: str, *, key: str, value: bytes | None, partition: int) -> Delivery:
        delivered: Delivery = Future()
        delivered.set_result(None)
        return delivered


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def command(n: int) -> PostSlackMessage:
    return PostSlackMessage(
        command_id=f"cmd-{n}", tenant_id="t1", workspace="default", channel="ap",
        text=f"invoice {n}", rule="r", source_event_id=f"e-{n}", entity_type="supplierInvoice",
        entity_id=f"t1/c1/supplierInvoice/{n}", created_at=NOW, company_id="c1",
    )  # fmt: skip


def record(partition: int) -> Record:
    return Record(topic="sink.slack.v1", partition=partition, offset=0, key="default/ap",
                  raw=b"", headers=[])  # fmt: skip


@pytest.mark.anyio
async def test_an_expired_or_revoked_document_leaves_the_document_index() -> None:
    clock = Clock()
    ledger = Ledger(
        sink="slack-sink", topic="ledger", producer=Producer(), serde=SERDE,  # type: ignore[arg-type]
        expiry=Expiry(timedelta(days=40)), clock=clock,
    )  # fmt: skip
    with handling([record(0)]):
        await ledger.done([command(1)], PostedMessage(channel="C1", ts="1.1"), digest=False)
    clock.now = NOW + timedelta(days=30)
    with handling([record(1)]):
        await ledger.done([command(2)], PostedMessage(channel="C1", ts="1.2"), digest=False)
    assert ledger.document_message(command(1)) == PostedMessage(channel="C1", ts="1.1")

    clock.now = NOW + timedelta(days=41)  # command 1's entry expires at the next write
    with handling([record(1)]):
        await ledger.done([command(3)], PostedMessage(channel="C1", ts="1.3"), digest=False)
    assert ledger.document_message(command(1)) is None
    assert ledger.shown_commands(PostedMessage(channel="C1", ts="1.1")) == []
    assert ledger.document_message(command(2)) == PostedMessage(channel="C1", ts="1.2")

    ledger.forget([1])
    assert ledger.document_message(command(2)) is None
    assert ledger.channel_id("default/ap") == "C1"
