"""The airbase-payments service on the real broker: a payment with an unmapped cost center
is held with its reason (and listed by `mlc airbase held`), then released exactly once after
the mapping file is fixed and the service restarted; across further restarts and a replay.

What the unit tests cannot see: the standings written with the commands in one transaction
and read back at start, the recheck at start against the file as it is on disk now, and the
runner consuming the payments topic between restarts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from airbase_payments.config import load_config
from airbase_payments.inject import PaymentsTopics, build
from airbase_payments.settings import AirbasePaymentsSettings
from airbase_payments.state import decode_standing
from chassis.kafka.decisions import DecidingService
from chassis.kafka.producer import EventProducer
from chassis.kafka.state import iter_to_end, read_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.airbase import AirbasePaymentLine, AirbasePaymentReady
from events.visma_writes import RecordSupplierPayment
from mlc.airbase_holds import run_held
from tests.integration.runner_kit import eventually

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
TENANT, COMPANY = "tenant-se-1", "1234567"
T0 = datetime(2026, 12, 3, 8, tzinfo=UTC)
MAPPING = """\
tenants:
  tenant-se-1:
    company: "1234567"
    accounts: {{"4010": "4010", "6110": "6110"}}
    cost_centers: {{"CC-100": "100", "CC-200": "200"{extra}}}
"""


class Rig:
    def __init__(self, kafka_bootstrap: str, unique: str, mapping: Path) -> None:
        self.kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
        self.prefix = f"abpay-{unique}."
        self.mapping = mapping
        self.settings = AirbasePaymentsSettings(
            group_id=f"abpay-{unique}", topic_prefix=self.prefix,
            transactional_id=f"abpay-{unique}-decisions",
        )  # fmt: skip
        self.topics = PaymentsTopics.of(self.settings)
        self.producer = EventProducer(self.kafka, "abpay-rig")

    def send(self, payment: AirbasePaymentReady) -> None:
        value = SERDE.encode(payment.SCHEMA, payment.to_record())
        self.producer.send(self.topics.payments.name, key=payment.key, value=value)
        self.producer.flush(60)

    @asynccontextmanager
    async def running(self, *, reload_seconds: float = 0) -> AsyncIterator[asyncio.Task[None]]:
        """The service as `mlc run` starts it: the mapping file read from disk now (and looked
        at again every `reload_seconds`, 0: only at start)."""
        app: DecidingService = await asyncio.to_thread(
            lambda: build(
                self.kafka,
                self.settings,
                load_config(self.mapping),
                watch=self.mapping,
                reload_seconds=reload_seconds,
            )
        )
        task = asyncio.create_task(app.run())
        try:
            yield task
        finally:
            app.stop()
            await asyncio.wait_for(task, 60)

    def commands(self) -> list[RecordSupplierPayment]:
        return [
            RecordSupplierPayment.from_record(SERDE.decode(value)[1])
            for _, value in iter_to_end(self.kafka, self.topics.commands.name, client="abpay-read")
        ]

    def paid(self) -> list[str]:
        return sorted(c.source_id for c in self.commands())

    def held(self) -> list[str]:
        values = read_to_end(self.kafka, self.topics.standings.name, client="abpay-state")
        standings = [decode_standing(SERDE, raw) for raw in values.values()]
        return sorted(s.entry_id for s in standings if s.held is not None)

    def handled_all(self) -> bool:
        """The service's group committed every payment record (handled all of them)."""
        topic = self.topics.payments.name
        config = self.kafka.client_config("abpay-offsets") | {"group.id": self.settings.group_id}
        consumer = Consumer(config)
        try:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            wanted = [TopicPartition(topic, p) for p in partitions]
            committed = consumer.committed(wanted, timeout=10)
            ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in wanted]
            return all(end == 0 or c.offset >= end for c, end in zip(committed, ends, strict=True))
        finally:
            consumer.close()

    async def until(self, what: str, task: asyncio.Task[None], check: Callable[[], bool]) -> None:
        await eventually(lambda: asyncio.to_thread(check), task, what, within=60)


def payment(entry_id: str, *, department: str, account: str = "4010") -> AirbasePaymentReady:
    return AirbasePaymentReady(
        event_id=f"{TENANT}/{entry_id}@v1", tenant_id=TENANT, company_id=COMPANY,
        entry_id=entry_id, version="v1", entry_type="bill_payment", vendor_ref="70012",
        vendor_name="Nordisk Papir AB", bill_id=f"bill-{entry_id}", bill_ref=f"Invoice:{entry_id}",
        currency="SEK", amount=Decimal("1250.00"), payment_date=date(2026, 12, 2),
        lines=[AirbasePaymentLine(line_number=1, amount=Decimal("1250.00"), account_ref=account,
                                  department_ref=department, description="Copy paper")],
        observed_at=T0, via="poll",
    )  # fmt: skip


def test_an_unmapped_cost_center_is_held_then_released_once_after_the_file_is_fixed(
    kafka_bootstrap: str, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)  # for `mlc airbase held`
    mapping = tmp_path / "airbase-payments.yaml"
    mapping.write_text(MAPPING.format(extra=""))
    asyncio.run(scenario(Rig(kafka_bootstrap, unique, mapping)))


async def scenario(rig: Rig) -> None:
    async with rig.running() as task:
        rig.send(payment("le-1", department="CC-300"))  # unmapped cost center
        rig.send(payment("le-2", department="CC-200"))  # mapped: goes at once
        rig.send(payment("le-3", department="CC-300", account="7777"))  # and an unmapped GL
        await rig.until("every payment handled", task, rig.handled_all)
    assert rig.paid() == ["le-2"]
    assert rig.held() == ["le-1", "le-3"]

    listing = io.StringIO()
    args = argparse.Namespace(tenant=None, topic_prefix=rig.prefix)
    assert await asyncio.to_thread(run_held, args, out=listing) == 0
    text = listing.getvalue()
    assert "tenant-se-1/le-1  Nordisk Papir AB  1250.0000 SEK" in text
    assert "line 1: cost center 'CC-300' is not mapped" in text
    assert "line 1: GL account '7777' is not mapped" in text
    assert text.endswith("2 payment(s) held\n")

    # The operator maps CC-300 and restarts: le-1 goes, once; le-3 still lacks its GL account.
    rig.mapping.write_text(MAPPING.format(extra=', "CC-300": "300"'))
    async with rig.running() as task:
        await rig.until("the release", task, lambda: "le-1" in rig.paid())
        rig.send(payment("le-1", department="CC-300"))  # the poller reads it again
        await rig.until("the replay handled", task, rig.handled_all)
    assert rig.paid() == ["le-1", "le-2"]
    assert rig.held() == ["le-3"]
    (released,) = [c for c in rig.commands() if c.source_id == "le-1"]
    assert [(a.account_number, a.subaccount) for a in released.allocations] == [("4010", "300")]
    assert (released.supplier_number, released.invoice_ref_nbr) == ("70012", "le-1")

    # Another start with the same file releases nothing again; a new payment goes through.
    async with rig.running() as task:
        rig.send(payment("le-4", department="CC-100"))
        await rig.until("the new payment", task, lambda: "le-4" in rig.paid())
    assert rig.paid() == ["le-1", "le-2", "le-4"]
    assert len({c.command_id for c in rig.commands()}) == 3


def test_a_fixed_file_is_taken_up_without_a_restart(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    mapping = tmp_path / "airbase-payments.yaml"
    mapping.write_text(MAPPING.format(extra=""))
    asyncio.run(reload_scenario(Rig(kafka_bootstrap, unique, mapping)))


async def reload_scenario(rig: Rig) -> None:
    async with rig.running(reload_seconds=0.2) as task:
        rig.send(payment("le-1", department="CC-300"))
        await rig.until("the payment held", task, lambda: rig.held() == ["le-1"])
        rig.mapping.write_text(MAPPING.format(extra=', "CC-300": "300"'))  # the operator's fix
        await rig.until("the release", task, lambda: rig.paid() == ["le-1"])
        rig.send(payment("le-2", department="CC-300"))  # the new file is in force
        await rig.until("the next payment", task, lambda: rig.paid() == ["le-1", "le-2"])
    assert rig.held() == []
    assert len(rig.commands()) == 2
