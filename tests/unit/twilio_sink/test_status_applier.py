"""StatusApplier: callbacks in any order, repeated, or ahead of the SID, end in the right place.

The ledgers write through an in-memory producer that records (topic, key, partition, value);
the SMS ledger's DONE entries reach the applier as the CompactedView would hand them over
(`SentMessages.add`), with the partition the view read each from.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from chassis.audit import AuditTrail
from chassis.kafka.handling import handling
from chassis.kafka.ledger import CommandLedger
from chassis.kafka.producer import Delivery, ProduceError
from chassis.kafka.record import Record
from chassis.serde import AvroSerde, SchemaCatalog
from events.twilio_deliveries import TwilioChannel, TwilioDelivery, TwilioDeliveryStatus
from events.twilio_status import TwilioMessageState, TwilioMessageStatus
from twilio_sink.status import SentMessages, StatusApplier

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
ACCOUNT = "AC" + "0" * 32
STATUS_TOPIC, STATE_TOPIC, SMS_LEDGER = "statuses", "states", "sms-ledger"
AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@dataclass
class Written:
    topic: str
    key: str
    partition: int
    value: Any


class Producer:
    def __init__(self) -> None:
        self.sent: list[Written] = []

    def send(self, topic: str, *, key: str, value: bytes | None, partition: int) -> Delivery:
        assert value is not None, "nothing expires in these tests"
        name, record = SERDE.decode(value)
        model = TwilioDelivery if name == TwilioDelivery.SCHEMA else TwilioMessageState
        self.sent.append(Written(topic, key, partition, model.from_record(record)))
        done: Delivery = Future()
        done.set_result(None)
        return done

    def ledger_writes(self, command_id: str) -> list[Written]:
        return [w for w in self.sent if w.topic == SMS_LEDGER and w.key == command_id]


class Rig:
    def __init__(self) -> None:
        self.producer = Producer()
        self.audit: list[dict[str, Any]] = []
        self.sent = SentMessages(SERDE)
        self.partitions: dict[str, int] = {}
        self.applier = StatusApplier(
            states=CommandLedger(
                TwilioMessageState, topic=STATE_TOPIC, producer=self.producer,  # type: ignore[arg-type]
                serde=SERDE, client="states",
            ),
            sent=self.sent,
            ledger=CommandLedger(
                TwilioDelivery, topic=SMS_LEDGER, producer=self.producer,  # type: ignore[arg-type]
                serde=SERDE, client="writer",
            ),
            partition_of=self.partitions.get,
            audit=AuditTrail(
                service="twilio-sink", serde=SERDE,
                publish=lambda key, value: self.audit.append(SERDE.decode(value)[1]),
            ),
        )  # fmt: skip
        self.offset = 0

    def done(self, n: int, *, partition: int = 4, status: str = "queued") -> TwilioDelivery:
        """The sink's DONE entry for command n, as the view reads it back."""
        entry = TwilioDelivery(
            command_id=f"sms-{n}", channel=TwilioChannel.SMS, status=TwilioDeliveryStatus.DONE,
            to="+46701230000", at=AT, attempts=1, external_id=sid(n), message_status=status,
            tenant_id="t1", entity_type="supplierInvoice", entity_id=f"t1/c1/invoice/{n}",
        )  # fmt: skip
        self.partitions[entry.command_id] = partition
        self.sent.add(entry)
        return entry

    async def callback(self, n: int, status: str, *, error_code: int | None = None) -> None:
        event = TwilioMessageStatus(
            message_sid=sid(n), account_sid=ACCOUNT, status=status, error_code=error_code,
            error_message="Unreachable destination handset" if error_code else None,
            received_at=AT,
        )  # fmt: skip
        self.offset += 1
        record = Record(
            topic=STATUS_TOPIC, partition=1, offset=self.offset, key=sid(n), raw=b"",
            headers=[], schema=event.SCHEMA, value=event.to_record(),
        )  # fmt: skip
        with handling([record]):
            await self.applier(record)

    def newest(self, n: int) -> TwilioDelivery:
        """What the ledger topic holds for command n now: its last write."""
        writes = self.producer.ledger_writes(f"sms-{n}")
        assert writes, f"nothing written for sms-{n}"
        entry: TwilioDelivery = writes[-1].value
        return entry

    def transitions(self, n: int) -> list[str]:
        return [a["detail"] for a in self.audit if a["external_id"] == sid(n)]


def sid(n: int) -> str:
    return f"SM{n:032x}"


async def test_delivered_before_sent_ends_delivered_and_each_transition_is_audited_once() -> None:
    rig = Rig()
    rig.done(1)
    for status in ("delivered", "sent", "delivered", "sending", "sent"):
        await rig.callback(1, status)

    assert rig.newest(1).message_status == "delivered"
    assert [w.value.message_status for w in rig.producer.ledger_writes("sms-1")] == ["delivered"]
    assert rig.transitions(1) == [
        "twilio status delivered",
        "twilio status sent",
        "twilio status sending",
    ]
    assert {a["entity_id"] for a in rig.audit} == {"t1/c1/invoice/1"}
    assert {a["command_id"] for a in rig.audit} == {"sms-1"}


async def test_the_entry_is_written_to_its_commands_partition_not_the_callbacks() -> None:
    rig = Rig()
    rig.done(2, partition=5)
    await rig.callback(2, "sent")

    [write] = rig.producer.ledger_writes("sms-2")
    assert write.partition == 5
    [state] = [w for w in rig.producer.sent if w.topic == STATE_TOPIC]
    assert (state.key, state.partition) == (sid(2), 1), "the state sits with its callbacks"


async def test_an_end_state_never_goes_back_and_keeps_twilios_error() -> None:
    rig = Rig()
    rig.done(3)
    await rig.callback(3, "undelivered", error_code=30003)
    await rig.callback(3, "delivered")
    await rig.callback(3, "read")

    entry = rig.newest(3)
    assert (entry.message_status, entry.error_code) == ("undelivered", 30003)
    assert entry.error_message == "Unreachable destination handset"
    assert entry.status is TwilioDeliveryStatus.DONE, "the sink's own status is untouched"
    stages = [a["stage"] for a in rig.audit]
    assert stages == ["failed", "sent", "sent"], "every transition audited, even ignored ones"
    assert "Twilio 30003" in rig.transitions(3)[0]


async def test_a_delivered_message_can_still_be_read() -> None:
    rig = Rig()
    rig.done(4)
    await rig.callback(4, "delivered")
    await rig.callback(4, "read")
    assert [w.value.message_status for w in rig.producer.ledger_writes("sms-4")] == [
        "delivered",
        "read",
    ]


async def test_a_status_for_an_unknown_sid_is_kept_and_applied_once_the_sid_shows_up() -> None:
    rig = Rig()
    await rig.callback(5, "sent")
    await rig.callback(5, "delivered")

    assert rig.producer.ledger_writes("sms-5") == []
    assert await rig.applier.sweep() == 0, "still unknown"
    states = [w.value for w in rig.producer.sent if w.topic == STATE_TOPIC]
    assert [(s.status, s.seen) for s in states] == [
        ("sent", ["sent"]),
        ("delivered", ["sent", "delivered"]),
    ]
    assert rig.transitions(5) == ["twilio status sent", "twilio status delivered"]

    rig.done(5, partition=2)  # the sink's DONE entry arrives in the view
    assert await rig.applier.sweep() == 1
    assert await rig.applier.sweep() == 0, "applied once"
    [write] = rig.producer.ledger_writes("sms-5")
    assert (write.value.message_status, write.partition) == ("delivered", 2)


async def test_a_stale_view_is_only_written_forward() -> None:
    """The view has not read back the applier's own write yet: a late `sent` must not
    overwrite the `delivered` the applier wrote a moment ago."""
    rig = Rig()
    rig.done(6)
    await rig.callback(6, "delivered")
    await rig.callback(6, "sent")  # the view still shows message_status=queued

    assert all(w.value.message_status == "delivered" for w in rig.producer.ledger_writes("sms-6"))


async def test_an_unknown_status_is_audited_but_never_written() -> None:
    rig = Rig()
    rig.done(7, status="sent")
    await rig.callback(7, "some_future_status")
    assert rig.producer.ledger_writes("sms-7") == []
    assert rig.transitions(7) == ["twilio status some_future_status"]


async def test_a_write_kafka_did_not_confirm_is_tried_again_by_the_next_sweep() -> None:
    rig = Rig()
    await rig.callback(8, "delivered")  # its SID is not in the ledger yet: kept
    rig.done(8)
    failing = rig.producer.send

    def refuse(topic: str, **kwargs: Any) -> Delivery:
        if topic == SMS_LEDGER:
            refused: Delivery = Future()
            refused.set_exception(ProduceError("broker down"))
            return refused
        return failing(topic, **kwargs)

    rig.producer.send = refuse  # type: ignore[method-assign]
    with pytest.raises(ProduceError):
        await rig.applier.sweep()
    rig.producer.send = failing  # type: ignore[method-assign]

    assert await rig.applier.sweep() == 1
    assert [w.value.message_status for w in rig.producer.ledger_writes("sms-8")] == ["delivered"]
