"""An unmapped cost center, end to end on the real broker with every service a process: the
Airbase payment is held with its reason (`mlc airbase held`, run as an operator runs it),
nothing of it reaches Visma; once the mapping file names the cost center and the
airbase-payments service restarts, it is released exactly once and the Visma writer books
it in the Visma sandbox on the right GL account and cost center, and marks the entry synced.

The payments are produced as the airbase-poller publishes them (`airbase.payment.v1`), for
open supplier invoices of the Visma sandbox: what is tested here is the way from the fact to
Visma's books, through the hold. Counted in Visma (its supplier payments and write counts)
and on Kafka (the writer's commands and the marks on `sink.airbase.v1`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from chassis.kafka.state import iter_to_end
from events.airbase import AIRBASE_PAYMENTS, AirbasePaymentLine, AirbasePaymentReady
from events.commands import mark_synced_command_id
from events.visma_writes import RecordSupplierPayment
from mlc.stack import FlowStack
from tests.e2e.test_visma_writer import COMPANY, SERDE
from tests.e2e.test_visma_writer_payments import PaymentRun

pytestmark = pytest.mark.e2e

TENANT = COMPANY
"""The demo's tenant and Visma company ids are the same."""


def mapping(*, cost_center_300: bool) -> dict[str, Any]:
    centers = {"CC-200": "100-20"} | ({"CC-300": "100-30"} if cost_center_300 else {})
    return {"tenants": {TENANT: {"company": COMPANY, "accounts": {"6110": "6110"},
                                 "cost_centers": centers}}}  # fmt: skip


def paid(invoice: dict[str, Any], entry: str, *, second_center: str) -> AirbasePaymentReady:
    """Airbase's payment of `invoice` in full: 300 on CC-200 and 100 on `second_center`."""
    lines = [
        AirbasePaymentLine(line_number=1, amount=Decimal("300.00"), account_ref="6110",
                           department_ref="CC-200", description="Services"),
        AirbasePaymentLine(line_number=2, amount=Decimal("100.00"), account_ref="6110",
                           department_ref=second_center, description="Travel"),
    ]  # fmt: skip
    return AirbasePaymentReady(
        event_id=f"{TENANT}/{entry}@v1", tenant_id=TENANT, company_id=COMPANY, entry_id=entry,
        version="v1", entry_type="bill_payment", vendor_ref=invoice["supplier"]["number"],
        vendor_name="Nordisk Papir AB", bill_id=f"bill-{entry}",
        bill_ref=invoice["referenceNumber"], currency=invoice["currencyId"],
        amount=Decimal("400.00"), payment_date=date(2026, 12, 2), lines=lines,
        observed_at=datetime.now(UTC), via="poll",
    )  # fmt: skip


class HoldRun(PaymentRun):
    def publish(self, *payments: AirbasePaymentReady) -> None:
        topic = f"{self.stack.topics.prefix}{AIRBASE_PAYMENTS.name}"
        for fact in payments:
            self.producer.send(
                topic, key=fact.key, value=SERDE.encode(fact.SCHEMA, fact.to_record())
            )
        self.producer.flush()

    def payments_handled(self) -> bool:
        """The airbase-payments group has committed every payment produced so far (the
        writer's commands topic is written in transactions, whose markers a committed
        offset never passes, so that one is judged by the ledger's DONE instead)."""
        topic = f"{self.stack.topics.prefix}{AIRBASE_PAYMENTS.name}"
        group = f"run-{self.stack.run_id}-airbase-payments"
        consumer = Consumer(self.settings.client_config("test") | {"group.id": group})
        try:
            tps = [TopicPartition(topic, p) for p in range(AIRBASE_PAYMENTS.partitions)]
            ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps]
            committed = consumer.committed(tps, timeout=10)
            return all(end == 0 or c.offset >= end for c, end in zip(committed, ends, strict=True))
        finally:
            consumer.close()

    def commands_sent(self) -> list[RecordSupplierPayment]:
        records = iter_to_end(self.settings, self.commands, client=f"test-{self.stack.run_id}")
        return [RecordSupplierPayment.from_record(SERDE.decode(v)[1]) for _, v in records]

    def held_listing(self, kafka: str) -> str:
        """`mlc airbase held` as an operator runs it."""
        done = subprocess.run(
            [sys.executable, "-m", "mlc.cli", "airbase", "held",
             "--topic-prefix", self.stack.topics.prefix],
            env=os.environ | {"KAFKA_BOOTSTRAP_SERVERS": kafka}, capture_output=True,
            text=True, timeout=120, check=True,
        )  # fmt: skip
        return done.stdout

    def restart_payments(self) -> None:
        """Stops the service if it runs, starts it on the file as the stack has it now, and
        returns once its partitions are assigned (its start's release is written by then)."""
        running = self.stack.children.get("airbase-payments")
        if running is not None:
            running.stop()
        child = self.stack.start("airbase-payments")
        child.wait_for_log("partitions assigned", timeout=90)


@pytest.fixture
def run(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> HoldRun:
    stack = make_stack(invoices=3, airbase_payments=mapping(cost_center_300=False))
    # Static members, as pods: a restarted service takes over without waiting out a session.
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"abpay-{stack.run_id}")
    stack.start_sandbox()
    return HoldRun(stack, kafka_bootstrap)


def test_an_unmapped_cost_center_is_held_then_booked_once_after_the_mapping_is_fixed(
    run: HoldRun, kafka_bootstrap: str
) -> None:
    invoices = [run.open_invoice("400.00") for _ in range(3)]
    payments = [
        paid(invoices[0], "le-a", second_center="CC-200"),
        paid(invoices[1], "le-b", second_center="CC-200"),
        paid(invoices[2], "le-c", second_center="CC-300"),  # not in the file
    ]
    run.restart_payments()
    run.stack.start("visma-writer")
    run.publish(*payments, *payments)  # the webhook's pull after the schedule's: read twice
    run.wait("two payments booked", lambda: len(run.done()) == 2)

    listing = run.held_listing(kafka_bootstrap)
    assert f"{TENANT}/le-c  Nordisk Papir AB  400.0000 " in listing
    assert "line 2: cost center 'CC-300' is not mapped" in listing
    assert listing.endswith("1 payment(s) held\n")
    assert sorted(c.source_id for c in run.commands_sent()) == ["le-a", "le-b"]

    run.stack.airbase_payments = mapping(cost_center_300=True)  # the operator's fix
    run.restart_payments()
    run.wait("the held payment booked", lambda: len(run.done()) == 3)
    run.restart_payments()  # another start with the same file releases nothing
    run.publish(payments[2])  # nor does the poller reading it again
    run.wait("the payment read again handled", run.payments_handled)
    assert run.held_listing(kafka_bootstrap).endswith("0 payment(s) held\n")

    commands = run.commands_sent()
    assert sorted(c.source_id for c in commands) == ["le-a", "le-b", "le-c"]
    for command, invoice in zip(sorted(commands, key=lambda c: c.source_id), invoices, strict=True):
        (made,) = run.payments_of(command)
        assert made["supplier"]["number"] == invoice["supplier"]["number"]
        assert made["paymentLines"][0]["refNbr"] == invoice["referenceNumber"]
        assert made["paymentAmount"] == 400.0
        second = "100-30" if command.source_id == "le-c" else "100-20"
        assert [(a["accountNumber"], a["subaccount"]) for a in made["allocations"]] == [
            ("6110", {"id": "100-20"}), ("6110", {"id": second})
        ]  # fmt: skip
        assert run.invoice(invoice)["balance"] == 0.0
    assert sum(1 for (_, action) in run.counts() if action == "create") == 3
    marked = run.marked()
    assert set(marked) == {mark_synced_command_id(c.command_id) for c in commands}
