"""RecordSupplierPayment on the shared machinery, against the Visma sandbox in process: an
Airbase payment is one Visma payment of the right invoice, on its GL accounts and cost
centers, never twice; a conflict goes to review, never overwrites; the entry is marked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from receipts_kit import ADMIN, COMPANY, START, MemoryReview, ReceiptHarness
from writer_harness import SERDE

from events.commands import MarkAirbaseEntrySynced, mark_synced_command_id
from events.deliveries import DeliveryStatus
from events.visma_writes import RecordSupplierPayment, SupplierPaymentAllocation
from visma_writer.documents import DocumentWriter
from visma_writer.payment_marks import PaymentWriter
from visma_writer.supplier_payments import SupplierPaymentKind

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ENTRY = "le_42"
REF = f"airbase:{ENTRY}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class MemoryMarks:
    def __init__(self) -> None:
        self.sent: list[MarkAirbaseEntrySynced] = []

    async def send(self, mark: MarkAirbaseEntrySynced) -> None:
        SERDE.encode(mark.SCHEMA, mark.to_record())  # the model fits its schema
        self.sent.append(mark)


class PaymentHarness(ReceiptHarness):
    def __init__(self) -> None:
        super().__init__()
        self.review = MemoryReview()
        self.marks = MemoryMarks()
        self.payments = PaymentWriter(DocumentWriter(
            SupplierPaymentKind(), companies={("t1", COMPANY): self.visma}, ledger=self.ledger,
            audit=self.audit.trail, review=self.review, max_conflicts=2,
        ), self.marks)  # fmt: skip

    async def invoice(self, amount: str = "1000.00", status: str = "Open") -> dict[str, Any]:
        body = {"company": COMPANY, "amount": amount, "status": status}
        response = await self.admin.post(f"{ADMIN}/invoices", json=body)
        assert response.status_code == 201, response.text
        invoice: dict[str, Any] = response.json()
        return invoice

    async def get(self, path: str, **params: str) -> Any:
        response = await self.admin.get(
            f"/visma{path}", headers=await self.visma_token(), params=params
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def payments_with_ref(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.get("/v1/supplierPayment", paymentRef=REF)
        return found

    async def balance(self, invoice: dict[str, Any]) -> tuple[float, str]:
        read = await self.get(f"/v1/supplierInvoice/Invoice/{invoice['referenceNumber']}")
        return read["balance"], read["status"]

    async def pay_by_hand(self, invoice: dict[str, Any]) -> None:
        """Someone pays the invoice in Visma and types our reference on the payment."""

        def v(value: object) -> dict[str, object]:
            return {"value": value}

        body = {
            "supplier": v(invoice["supplier"]["number"]), "paymentRef": v(REF),
            "paymentAmount": v(50.0),
            "paymentLines": [{"documentType": v("Invoice"),
                              "refNbr": v(invoice["referenceNumber"]), "amountPaid": v(50.0)}],
        }  # fmt: skip
        response = await self.admin.post(
            "/visma/v1/supplierPayment", headers=await self.visma_token(), json=body
        )
        assert response.status_code == 201, response.text

    async def admin_post(self, path: str, body: dict[str, Any]) -> None:
        response = await self.admin.post(f"{ADMIN}{path}", json=body)
        assert response.status_code < 300, response.text


def payment(
    invoice: dict[str, Any], amount: str = "400.00", *, command_id: str = "cmd-p1", **changes: Any
) -> RecordSupplierPayment:
    value = Decimal(amount)
    fields: dict[str, Any] = {
        "command_id": command_id,
        "tenant_id": "t1",
        "company_id": COMPANY,
        "source_system": "airbase",
        "source_id": ENTRY,
        "source_version": f"{command_id}-digest",
        "supplier_number": invoice["supplier"]["number"],
        "invoice_ref_nbr": invoice["referenceNumber"],
        "payment_reference": REF,
        "currency_id": invoice["currencyId"],
        "amount": value,
        "payment_date": date(2026, 3, 2),
        "allocations": [
            SupplierPaymentAllocation(
                amount=value - 100, account_number="6110", subaccount="100-20", description="Paper"
            ),
            SupplierPaymentAllocation(amount=Decimal(100), account_number="6120"),
        ],
        "reply_to": "airbase",
        "rule": "airbase-payments",
        "source_event_id": f"evt-{command_id}",
        "entity_type": "supplierPayment",
        "entity_id": f"t1/{COMPANY}/supplierPayment/airbase:{ENTRY}",
        "created_at": START,
    }
    return RecordSupplierPayment.model_validate(fields | changes)


async def test_a_payment_is_one_visma_payment_on_its_gl_accounts_and_cost_centers() -> None:
    h = PaymentHarness()
    invoice = await h.invoice()
    command = payment(invoice)

    number = await h.payments.apply(command)
    again = await h.payments.apply(command)

    (paid,) = await h.payments_with_ref()
    assert again == number == paid["refNbr"]
    assert (paid["paymentAmount"], paid["supplier"]["number"], paid["currency"]) == (
        400.0, invoice["supplier"]["number"], invoice["currencyId"]
    )  # fmt: skip
    assert paid["paymentLines"] == [
        {"documentType": "Invoice", "refNbr": invoice["referenceNumber"], "amountPaid": 400.0}
    ]
    assert [(a["amount"], a["accountNumber"], a["subaccount"]) for a in paid["allocations"]] == [
        (300.0, "6110", {"id": "100-20"}), (100.0, "6120", None)
    ]  # fmt: skip
    assert await h.balance(invoice) == (600.0, "Open")
    assert h.audit.stages()[-2:] == ["sent", "skipped"]
    assert h.marks.sent[0] == h.marks.sent[1]  # the repeat sends the same mark: the sink drops it
    (mark,) = set(h.marks.sent)
    assert (mark.command_id, mark.entry_id, mark.visma_payment_number, mark.key) == (
        mark_synced_command_id("cmd-p1"), ENTRY, number, "t1"
    )  # fmt: skip


async def test_an_attempt_that_died_after_the_201_finds_the_payment_instead_of_paying_twice() -> (
    None
):
    h = PaymentHarness()
    invoice = await h.invoice()
    number = await h.payments.apply(payment(invoice))
    pending = next(e for e in h.ledger.writes if e.status is DeliveryStatus.PENDING)
    h.ledger.entries["cmd-p1"] = pending  # died between Visma's 201 and DONE
    h.marks.sent.clear()

    found = await h.payments.apply(payment(invoice))

    assert found == number
    assert len(await h.payments_with_ref()) == 1
    assert await h.balance(invoice) == (600.0, "Open")
    assert h.ledger.entries["cmd-p1"].status is DeliveryStatus.DONE
    assert [m.visma_payment_number for m in h.marks.sent] == [number]


async def test_paying_the_rest_closes_the_invoice_and_no_reply_target_sends_no_mark() -> None:
    h = PaymentHarness()
    invoice = await h.invoice(amount="400.00")

    await h.payments.apply(payment(invoice, reply_to=None))

    assert await h.balance(invoice) == (0.0, "Closed")
    assert h.marks.sent == []


@pytest.mark.parametrize(
    ("status", "amount", "changes", "difference"),
    [
        ("Balanced", "400.00", {}, ("status", "Open", "Balanced")),
        ("Open", "1000.01", {}, ("balance", ">= 1000.01", "1000.00")),
        ("Open", "400.00", {"supplier_number": "10999"}, ("supplier", "10999", "{owner}")),
        ("Open", "400.00", {"invoice_ref_nbr": "999999"}, ("invoice", "999999", "none")),
    ],
    ids=["invoice-not-open", "balance-short", "other-supplier", "no-invoice"],
)
async def test_an_invoice_that_cannot_take_the_payment_goes_to_review_and_nothing_is_paid(
    status: str, amount: str, changes: dict[str, Any], difference: tuple[str, str, str]
) -> None:
    h = PaymentHarness()
    invoice = await h.invoice(status=status)
    owner = invoice["supplier"]["number"]

    result = await h.payments.apply(payment(invoice, amount, **changes))

    assert result is None
    (conflict,) = h.review.sent
    field, expected, found = difference
    assert (field, expected, found.format(owner=owner)) in {
        (d.field, d.expected, d.found) for d in conflict.differences
    }
    assert conflict.command == "RecordSupplierPayment"
    assert await h.payments_with_ref() == []
    assert (await h.balance(invoice))[0] == 1000.0
    assert h.marks.sent == []
    assert h.ledger.entries["cmd-p1"].status is DeliveryStatus.DONE


async def test_a_new_version_of_the_entry_updates_the_payment_under_if_match() -> None:
    h = PaymentHarness()
    invoice = await h.invoice()
    number = await h.payments.apply(payment(invoice))
    await h.fault(status=412, path_prefix="/v1/supplierPayment/", method="PUT", times=1)

    updated = await h.payments.apply(payment(invoice, "700.00", command_id="cmd-p2"))

    (paid,) = await h.payments_with_ref()
    assert updated == number == paid["refNbr"]
    assert paid["paymentAmount"] == 700.0
    assert paid["allocations"][0]["amount"] == 600.0
    assert await h.balance(invoice) == (300.0, "Open")
    assert h.audit.stages()[-2:] == ["retried", "sent"]
    actions = (await h.admin.get(f"{ADMIN}/actions", params={"company": COMPANY})).json()
    assert {(a["action"], a["count"]) for a in actions if a["entityId"] == f"Payment:{number}"} == {
        ("create", 1), ("update", 1)
    }  # fmt: skip
    assert [m.command_id for m in h.marks.sent] == [
        mark_synced_command_id("cmd-p1"), mark_synced_command_id("cmd-p2")
    ]  # fmt: skip


async def test_a_change_made_in_visma_between_read_and_write_goes_to_review_not_overwritten() -> (
    None
):
    h = PaymentHarness()
    invoice = await h.invoice()
    number = await h.payments.apply(payment(invoice))
    await h.admin_post(
        f"/entities/supplierPayment/{COMPANY}/change-after-read",
        {"key": f"Payment:{number}", "fields": {"paymentAmount": 350.0}},
    )  # someone corrects the amount in Visma right after the writer reads the payment

    result = await h.payments.apply(payment(invoice, "700.00", command_id="cmd-p2"))

    assert result is None
    (paid,) = await h.payments_with_ref()
    assert paid["paymentAmount"] == 350.0  # their change stands
    (conflict,) = h.review.sent
    assert [(d.field, d.expected, d.found) for d in conflict.differences] == [
        ("amount", "400.00", "350.00")
    ]
    assert conflict.document == f"supplier payment {number} ({REF})"
    assert h.audit.stages()[-2:] == ["retried", "failed"]
    assert [m.command_id for m in h.marks.sent] == [mark_synced_command_id("cmd-p1")]


async def test_a_payment_entered_by_hand_with_our_reference_is_never_overwritten() -> None:
    h = PaymentHarness()
    invoice = await h.invoice()
    await h.pay_by_hand(invoice)

    result = await h.payments.apply(payment(invoice))

    assert result is None
    assert len(await h.payments_with_ref()) == 1
    (conflict,) = h.review.sent
    assert "entered in Visma" in conflict.reason
