"""The hold and release rules, and the desk that writes them, without Kafka: a payment is
sent once per version, held with its reason, released once when the file maps it, and a
decision is kept only once its transaction committed."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from tests.unit.airbase_payments.payment_samples import COMPANY, TENANT, config, line, payment
from tests.unit.chassis.transactions_fake import FakeTransactions

from airbase_payments.config import PaymentsConfig
from airbase_payments.desk import PaymentsDesk
from airbase_payments.holds import SENT_VERSIONS_KEPT, PaymentHolds
from airbase_payments.state import decode_standing, encode_standing
from chassis.audit import AuditTrail
from chassis.errors import RetryableError
from chassis.kafka.decisions import DecisionTopics
from chassis.serde import AvroSerde, SchemaCatalog
from events.visma_writes import RecordSupplierPayment

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())
UNMAPPED_CC = [line(1, "1000.00", "4010", "CC-300"), line(2, "250.00", "6110", None)]
WITHOUT_CC_300 = config()
WITH_CC_300 = config(cost_centers={"CC-100": "100", "CC-200": "200", "CC-300": "300"})


def test_a_mapped_payment_is_sent_once_per_version() -> None:
    holds = PaymentHolds(WITHOUT_CC_300)
    first = holds.payment_ready(payment())
    assert len(first.commands) == 1
    holds.commit(first)
    assert holds.payment_ready(payment(via="webhook")).commands == []  # the webhook's pull
    changed = holds.payment_ready(payment(version="v2"))
    assert len(changed.commands) == 1
    assert changed.commands[0].command_id != first.commands[0].command_id
    holds.commit(changed)
    standing = holds.get(TENANT, "le-1")
    assert standing is not None
    assert (standing.held, standing.sent) == (None, ("v1", "v2"))


def test_an_unmapped_cost_center_holds_the_payment_with_its_reason_once() -> None:
    holds = PaymentHolds(WITHOUT_CC_300)
    decision = holds.payment_ready(payment(lines=UNMAPPED_CC))
    assert decision.commands == []
    (standing,) = decision.changed
    assert standing.held == payment(lines=UNMAPPED_CC)
    assert "line 1: cost center 'CC-300' is not mapped" in standing.reason
    assert decision.held == [standing]
    holds.commit(decision)
    again = holds.payment_ready(payment(lines=UNMAPPED_CC, via="webhook"))
    assert (again.commands, again.changed, again.held) == ([], [], [])


def test_a_newer_version_of_a_held_payment_replaces_it_and_goes_when_it_maps() -> None:
    holds = PaymentHolds(WITHOUT_CC_300)
    holds.commit(holds.payment_ready(payment(lines=UNMAPPED_CC)))
    fixed_in_airbase = holds.payment_ready(payment(version="v2"))
    (command,) = fixed_in_airbase.commands
    assert command.source_version == "v2"
    (standing,) = fixed_in_airbase.changed
    assert (standing.held, standing.reason, standing.sent) == (None, "", ("v2",))


def test_a_fixed_file_releases_the_held_payment_once_at_start() -> None:
    holds = PaymentHolds(WITHOUT_CC_300)
    holds.commit(holds.payment_ready(payment(lines=UNMAPPED_CC)))
    holds.commit(holds.payment_ready(payment("le-2")))  # mapped: sent at once

    unchanged = PaymentHolds(WITHOUT_CC_300, holds.all()).recheck()
    assert (unchanged.commands, unchanged.changed) == ([], [])  # same file: nothing new

    restarted = PaymentHolds(WITH_CC_300, holds.all())
    released = restarted.recheck()
    (command,) = released.commands
    assert (command.source_id, command.allocations[0].subaccount) == ("le-1", "300")
    restarted.commit(released)
    assert restarted.recheck().commands == []  # once
    assert restarted.payment_ready(payment(lines=UNMAPPED_CC)).commands == []  # a replay
    assert PaymentHolds(WITH_CC_300, restarted.all()).recheck().commands == []  # next start


def test_a_partly_fixed_file_keeps_the_payment_held_with_the_remaining_reason() -> None:
    two_problems = [line(1, "1000.00", "9999", "CC-300"), line(2, "250.00", "6110", None)]
    holds = PaymentHolds(WITHOUT_CC_300)
    holds.commit(holds.payment_ready(payment(lines=two_problems)))
    restarted = PaymentHolds(WITH_CC_300, holds.all())
    decision = restarted.recheck()
    assert decision.commands == []
    (standing,) = decision.changed
    assert "CC-300" not in standing.reason
    assert "line 1: GL account '9999' is not mapped" in standing.reason
    assert decision.held == [standing]


def test_sent_versions_are_bounded() -> None:
    holds = PaymentHolds(WITHOUT_CC_300)
    for n in range(SENT_VERSIONS_KEPT + 5):
        holds.commit(holds.payment_ready(payment(version=f"v{n}")))
    standing = holds.get(TENANT, "le-1")
    assert standing is not None
    assert standing.sent == tuple(f"v{n}" for n in range(5, SENT_VERSIONS_KEPT + 5))


def test_a_standing_round_trips_through_its_avro_record() -> None:
    holds = PaymentHolds(WITHOUT_CC_300)
    holds.commit(holds.payment_ready(payment("le-2")))
    holds.commit(holds.payment_ready(payment(lines=UNMAPPED_CC)))
    for standing in holds.all():
        assert decode_standing(SERDE, encode_standing(SERDE, standing)) == standing


def desk(
    cfg: PaymentsConfig, holds: PaymentHolds | None = None
) -> tuple[PaymentsDesk, PaymentHolds, FakeTransactions, list[dict[str, object]]]:
    transactions, audited = FakeTransactions(), []
    holds = holds or PaymentHolds(cfg)

    def publish(key: str, value: bytes) -> None:
        audited.append(SERDE.decode(value)[1])

    return (
        PaymentsDesk(
            holds=holds,
            transactions=transactions,
            serde=SERDE,
            topics=DecisionTopics(commands="commands", state="standings"),
            audit=AuditTrail(service="test", serde=SERDE, publish=publish),
        ),
        holds,
        transactions,
        audited,
    )


def test_the_desk_audits_the_hold_and_writes_the_release_with_its_standing() -> None:
    async def scenario() -> None:
        payments, holds, transactions, audited = desk(WITHOUT_CC_300)
        await payments.handle(payment(lines=UNMAPPED_CC))
        assert transactions.on("commands") == []
        assert transactions.on("standings") == [f"{TENANT}/le-1"]
        (held,) = [a for a in audited if a["stage"] == "held"]
        assert held["entity_id"] == f"{TENANT}/{COMPANY}/supplierPayment/airbase:le-1"
        assert "cost center 'CC-300' is not mapped" in str(held["detail"])

        restarted, _, transactions, audited = desk(
            WITH_CC_300, PaymentHolds(WITH_CC_300, holds.all())
        )
        transactions.refuse = True  # the release's transaction aborts: nothing is kept
        with pytest.raises(RetryableError):
            await restarted.recheck()
        await restarted.recheck()  # the start tried again
        await restarted.recheck()
        (batch,) = transactions.committed
        (command,) = [v for t, _, v in batch if t == "commands"]
        schema, record = SERDE.decode(command)
        assert schema == RecordSupplierPayment.SCHEMA
        assert RecordSupplierPayment.from_record(record).payment_date == date(2026, 12, 2)
        (standing,) = [v for t, _, v in batch if t == "standings"]
        assert decode_standing(SERDE, standing).held is None
        assert [a["stage"] for a in audited] == ["routed"]

    asyncio.run(scenario())
