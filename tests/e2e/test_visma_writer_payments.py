"""Airbase payments written by the Visma writer process, on the real broker, into the Visma
sandbox: one supplier payment per Airbase entry, on its GL accounts and cost centers, whatever
is repeated, redelivered, refused with 412, changed in Visma meanwhile or killed; and every
booked entry marked synced on the airbase-sink's topic.

Counted where it matters, in Visma (the sandbox's entity listing, its write counts and the
paid invoices' balances), and on Kafka (the review topic, `sink.airbase.v1`). The writer is
SIGKILLed five times between Visma's 201 (the payment exists) and the ledger's DONE, at a
random point of an answer the sandbox holds back. Throughout, 10% of the writer's calls to
Visma are answered 429 or 500.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from chassis.kafka.state import iter_to_end
from chassis.topics import TopicSpec, ensure_topics
from events.commands import MarkAirbaseEntrySynced, mark_synced_command_id
from events.visma_writes import RecordSupplierPayment, SupplierPaymentAllocation, VismaWriteConflict
from mlc.stack import FlowStack
from tests.e2e.test_visma_writer import COMPANY, PARTITIONS, SERDE
from tests.e2e.test_visma_writer_receipts import ReceiptRun

pytestmark = pytest.mark.e2e

PAYMENTS = "/v1/supplierPayment"


def payment(
    invoice: dict[str, Any], entry: str, *, version: int = 1, amount: str = "400.00"
) -> RecordSupplierPayment:
    value = Decimal(amount)
    return RecordSupplierPayment(
        command_id=f"pay-{entry}-v{version}",
        tenant_id=COMPANY,
        company_id=COMPANY,
        source_system="airbase",
        source_id=entry,
        source_version=f"{version:02d}{entry}",
        supplier_number=invoice["supplier"]["number"],
        invoice_ref_nbr=invoice["referenceNumber"],
        payment_reference=f"airbase:{entry}",
        currency_id=invoice["currencyId"],
        amount=value,
        payment_date=date(2026, 3, 2),
        allocations=[
            SupplierPaymentAllocation(
                amount=value - 100,
                account_number="6110",
                subaccount="100-20",
                description="Services",
            ),
            SupplierPaymentAllocation(
                amount=Decimal(100), account_number="6120", subaccount="100-30"
            ),
        ],
        reply_to="airbase",
        rule="airbase-payments",
        source_event_id=f"airbase-{entry}-{version}",
        entity_type="supplierPayment",
        entity_id=f"{COMPANY}/{COMPANY}/supplierPayment/airbase:{entry}",
        created_at=datetime.now(UTC),
    )


class PaymentRun(ReceiptRun):
    def __init__(self, stack: FlowStack, kafka: str) -> None:
        super().__init__(stack, kafka)
        self.review = f"{stack.topics.prefix}review.visma-writer.v1"
        self.marks_topic = f"{stack.topics.prefix}sink.airbase.v1"
        ensure_topics(
            AdminClient(self.settings.client_config("test")),
            [TopicSpec(self.review, PARTITIONS), TopicSpec(self.marks_topic, PARTITIONS)],
        )

    def open_invoice(self, amount: str = "1000.00") -> dict[str, Any]:
        body = {"company": COMPANY, "amount": amount, "status": "Open",
                "approval_status": "Approved"}  # fmt: skip
        invoice: dict[str, Any] = self.admin("POST", "/invoices", body)
        return invoice

    def noise(self) -> None:
        """10% of the writer's Visma calls answered 429 (Retry-After) or 500, until cleared."""
        for status in (429, 500):
            rule = {"status": status, "probability": 0.05, "times": None, "path_prefix": "/v1/"}
            self.admin("POST", "/faults", rule | ({"retry_after": 1} if status == 429 else {}))

    def invoice(self, invoice: dict[str, Any]) -> dict[str, Any]:
        (found,) = [
            i for i in self.admin("GET", f"/invoices?company={COMPANY}")
            if i["referenceNumber"] == invoice["referenceNumber"]
        ]  # fmt: skip
        return found

    def payments_of(self, command: RecordSupplierPayment) -> list[dict[str, Any]]:
        listed = self.admin("GET", f"/entities/supplierPayment?company={COMPANY}")
        return [p for p in listed if p.get("paymentRef") == command.payment_reference]

    def marks(self) -> list[MarkAirbaseEntrySynced]:
        records = iter_to_end(self.settings, self.marks_topic, client=f"test-{self.stack.run_id}")
        return [MarkAirbaseEntrySynced.from_record(SERDE.decode(v)[1]) for _, v in records]

    def conflicts(self) -> list[VismaWriteConflict]:
        records = iter_to_end(self.settings, self.review, client=f"test-{self.stack.run_id}")
        return [VismaWriteConflict.from_record(SERDE.decode(v)[1]) for _, v in records]

    def marked(self) -> dict[str, set[str]]:
        """Mark command id -> the Visma payment numbers its records name (one, if right)."""
        numbers: dict[str, set[str]] = defaultdict(set)
        for mark in self.marks():
            numbers[mark.command_id].add(mark.visma_payment_number)
        return numbers


@pytest.fixture
def run(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> PaymentRun:
    stack = make_stack(invoices=3)
    # A static member, as a pod: a restarted writer takes over without waiting out a session.
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"writer-{stack.run_id}")
    stack.start_sandbox()
    return PaymentRun(stack, kafka_bootstrap)


def test_twenty_payments_repeated_redelivered_412_and_changed_in_visma_are_each_paid_once(
    run: PaymentRun,
) -> None:
    invoices = [run.open_invoice() for _ in range(20)]
    commands = [payment(inv, f"le_{n:03d}") for n, inv in enumerate(invoices)]
    run.noise()
    writer = run.stack.start("visma-writer")

    run.send(*commands, *commands)  # produced twice
    run.wait("every payment DONE", lambda: run.done() >= {c.command_id for c in commands})
    run.wait("every command handled", run.all_handled)

    # A new version of entry 0 meets a forced 412 on its update: read again, applied once.
    (first,) = run.payments_of(commands[0])
    put = f"{PAYMENTS}/Payment/{first['refNbr']}"
    run.admin("POST", "/faults", {"status": 412, "method": "PUT", "times": 1, "path_prefix": put})
    corrected = payment(invoices[0], "le_000", version=2, amount="700.00")
    # A new version of entry 1 while someone corrects its payment in Visma between the
    # writer's read and its write: review, not overwritten.
    (contested,) = run.payments_of(commands[1])
    arm = {"key": f"Payment:{contested['refNbr']}", "fields": {"paymentAmount": 350.0}}
    run.admin("POST", f"/entities/supplierPayment/{COMPANY}/change-after-read", arm)
    conflicting = payment(invoices[1], "le_001", version=2, amount="500.00")
    run.send(corrected, conflicting)
    run.wait("both new versions DONE",
             lambda: run.done() >= {corrected.command_id, conflicting.command_id})  # fmt: skip
    run.wait("every command handled", run.all_handled)
    assert run.admin("GET", "/faults/fired")["by_status"].get("412") == 1

    writer.stop()
    run.rewind()  # everything redelivered from the start of the topic
    run.stack.start("visma-writer")
    run.wait("every command handled again", run.all_handled)
    run.admin("DELETE", "/faults")
    fired = run.admin("GET", "/faults/fired")["by_status"]
    assert fired.get("429", 0) + fired.get("500", 0) > 0, "the writer met the noise"

    paid = {c.source_id: run.payments_of(c) for c in commands}
    assert {k: len(v) for k, v in paid.items()} == {c.source_id: 1 for c in commands}
    expected_amounts = {c.source_id: 400.0 for c in commands} | {"le_000": 700.0, "le_001": 350.0}
    assert {k: v[0]["paymentAmount"] for k, v in paid.items()} == expected_amounts
    for command, invoice in zip(commands, invoices, strict=True):
        (made,) = paid[command.source_id]
        assert made["supplier"]["number"] == command.supplier_number
        assert made["paymentLines"][0]["refNbr"] == command.invoice_ref_nbr
        assert [(a["accountNumber"], a["subaccount"]) for a in made["allocations"]] == [
            ("6110", {"id": "100-20"}), ("6120", {"id": "100-30"})
        ]  # fmt: skip
        if command.source_id != "le_001":  # its 350 was typed in Visma, past the invoice
            left = 1000.0 - expected_amounts[command.source_id]
            assert run.invoice(invoice)["balance"] == left
    actions = run.counts()
    assert actions[(f"Payment:{first['refNbr']}", "update")] == 1, "412 read again, applied once"
    assert (f"Payment:{contested['refNbr']}", "update") not in actions
    assert sum(1 for (_, action) in actions if action == "create") == 20

    (conflict,) = [c for c in run.conflicts() if c.command_id == conflicting.command_id]
    assert [(d.field, d.expected, d.found) for d in conflict.differences] == [
        ("amount", "400.00", "350.00")
    ]
    marked = run.marked()
    booked = [*commands, corrected]
    assert {mark_synced_command_id(c.command_id) for c in booked} == set(marked)
    assert all(len(numbers) == 1 for numbers in marked.values())
    assert marked[mark_synced_command_id(commands[5].command_id)] == {
        paid["le_005"][0]["refNbr"]
    }  # fmt: skip


def test_sigkill_between_vismas_201_and_done_never_pays_twice_and_marks_each_entry(
    run: PaymentRun,
) -> None:
    rng = random.Random()
    invoices = [run.open_invoice("800.00") for _ in range(5)]
    commands = [payment(inv, f"le_k{n}") for n, inv in enumerate(invoices)]
    run.noise()
    for command in commands:
        hold = round(rng.uniform(1.0, 4.0), 2)  # the answer comes back this much later
        run.admin("POST", "/faults", {"method": "POST", "path_prefix": PAYMENTS, "times": 1,
                                      "delay_after_seconds": hold})  # fmt: skip
        writer = run.stack.start("visma-writer")
        run.send(command)
        run.wait("the payment made in Visma", lambda c=command: len(run.payments_of(c)) == 1)
        writer.kill()
        assert command.command_id not in run.done(), "killed before the ledger's DONE"

    run.stack.start("visma-writer")  # the noise goes on
    wanted = {c.command_id for c in commands}
    run.wait("every payment DONE", lambda: run.done() >= wanted, timeout=120)
    run.wait("every command handled", run.all_handled)
    run.admin("DELETE", "/faults")

    assert [len(run.payments_of(c)) for c in commands] == [1] * 5
    assert [run.invoice(inv)["balance"] for inv in invoices] == [400.0] * 5
    done = run.done_as()
    numbers = {c.command_id: str(run.payments_of(c)[0]["refNbr"]) for c in commands}
    assert {c.command_id: done[c.command_id] for c in commands} == numbers
    marked = run.marked()
    assert {c.command_id: marked[mark_synced_command_id(c.command_id)] for c in commands} == {
        c: {n} for c, n in numbers.items()
    }, "each entry marked synced with its one payment"
