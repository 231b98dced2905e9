"""The approvals' copy of the Slack ledger drops what the sink's ledger expired."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from approvals.posted import PostedMessages
from chassis.serde import AvroSerde, SchemaCatalog
from events.deliveries import DeliveryStatus, SinkDelivery

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())


def done(command_id: str, ts: str) -> SinkDelivery:
    return SinkDelivery(
        command_id=command_id, sink="slack-sink", status=DeliveryStatus.DONE,
        destination="acme/ap", at=datetime(2026, 3, 1, tzinfo=UTC), channel_id="C1", ts=ts,
        digest=True,
    )  # fmt: skip


def test_a_tombstoned_entry_leaves_the_index_once_no_command_names_its_message() -> None:
    posted = PostedMessages(SERDE)
    for command_id in ("a", "b"):  # one digest message for two commands
        posted.add(done(command_id, "1.000100"))
    posted.add(done("c", "1.000200"))

    posted.remove("a")
    assert posted.find("C1", "1.000100") is not None  # "b" still names it
    posted.remove("b")
    posted.remove("unknown")
    assert posted.find("C1", "1.000100") is None
    assert posted.find("C1", "1.000200") is not None
    assert len(posted) == 1
