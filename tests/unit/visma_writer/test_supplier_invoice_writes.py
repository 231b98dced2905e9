"""UpsertSupplierInvoice on the shared machinery, against the Visma sandbox in process: a
bill is one invoice of the right supplier, never written without one, never twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from supplier_writes_kit import SupplierHarness, bill_command, vendor_command

from events.deliveries import DeliveryStatus
from events.visma_writes import SupplierInvoiceLineWrite
from visma_writer.supplier_invoices import SupplierNotWrittenError

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

REF = "INV-7781"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_bill_becomes_one_invoice_of_its_vendors_supplier_with_gl_and_cost_center() -> None:
    h = SupplierHarness()
    supplier = await h.suppliers.apply(vendor_command())
    assert supplier is not None

    number = await h.invoices.apply(bill_command())
    again = await h.invoices.apply(bill_command())

    (invoice,) = await h.invoices_of(supplier, REF)
    assert again == number == invoice["referenceNumber"]
    assert (invoice["amount"], invoice["date"], invoice["dueDate"], invoice["currencyId"]) == (
        1250.5, "2026-03-01T00:00:00", "2026-03-31T00:00:00", "DKK"
    )  # fmt: skip
    assert [
        (x["transactionDescription"], x["amount"], x["accountNumber"], x["subaccount"])
        for x in invoice["invoiceLines"]
    ] == [("Paper", 1000.5, "6100", {"id": "100-20"}), ("Toner", 250.0, "6110", None)]
    assert "[bill bill 00n01BILL1]" in invoice["note"]


async def test_a_bill_whose_vendor_has_no_supplier_yet_waits_and_writes_nothing() -> None:
    h = SupplierHarness()

    with pytest.raises(SupplierNotWrittenError, match="00901VEN1"):
        await h.invoices.apply(bill_command())

    assert h.ledger.writes == []
    await h.suppliers.apply(vendor_command())
    number = await h.invoices.apply(bill_command())  # the redelivery, once the supplier exists
    assert number is not None


async def test_a_bill_naming_its_supplier_needs_no_record_of_the_vendor() -> None:
    h = SupplierHarness()
    supplier = await h.suppliers.apply(vendor_command())
    h.ledger.entries.clear()

    number = await h.invoices.apply(bill_command(supplier_number=supplier))

    assert [i["referenceNumber"] for i in await h.invoices_of(str(supplier), REF)] == [number]


async def test_an_attempt_that_died_after_the_201_finds_the_invoice_instead_of_another() -> None:
    h = SupplierHarness()
    supplier = str(await h.suppliers.apply(vendor_command()))
    number = await h.invoices.apply(bill_command())
    pending = next(
        e
        for e in h.ledger.writes
        if e.status is DeliveryStatus.PENDING and e.command_id == "cmd-b1"
    )
    h.ledger.entries["cmd-b1"] = pending  # died between Visma's 201 and DONE

    found = await h.invoices.apply(bill_command())

    assert found == number
    assert [i["referenceNumber"] for i in await h.invoices_of(supplier, REF)] == [number]
    assert h.ledger.entries["cmd-b1"].status is DeliveryStatus.DONE


async def test_a_changed_bill_updates_the_invoice_and_its_lines_under_if_match() -> None:
    h = SupplierHarness()
    supplier = str(await h.suppliers.apply(vendor_command()))
    number = await h.invoices.apply(bill_command())
    lines = [SupplierInvoiceLineWrite(description="Paper", amount=Decimal("900"),
                                      account_number="6100", subaccount="100-30")]  # fmt: skip

    updated = await h.invoices.apply(bill_command("cmd-b2", amount=Decimal("900"), lines=lines))

    (invoice,) = await h.invoices_of(supplier, REF)
    assert updated == number
    assert invoice["amount"] == 900.0
    assert [(x["amount"], x["subaccount"]) for x in invoice["invoiceLines"]] == [
        (900.0, {"id": "100-30"})
    ]


async def test_a_412_on_the_update_reads_again_and_applies_once() -> None:
    h = SupplierHarness()
    supplier = str(await h.suppliers.apply(vendor_command()))
    number = await h.invoices.apply(bill_command())
    lines = [SupplierInvoiceLineWrite(description="Paper", amount=Decimal("900"),
                                      account_number="6100")]  # fmt: skip
    path = f"/v1/supplierInvoice/Invoice/{number}"
    await h.fault(status=412, path_prefix=path, method="PUT", times=1)

    updated = await h.invoices.apply(bill_command("cmd-b2", amount=Decimal("900"), lines=lines))

    assert updated == number
    (invoice,) = await h.invoices_of(supplier, REF)
    assert invoice["amount"] == 900.0
    assert h.audit.stages()[-2:] == ["retried", "sent"]
    counts = (await h.admin.get(f"/visma/_sandbox/invoices/tenant-se-1/{number}/actions")).json()
    assert counts["actions"] == {"update": 1}


async def test_an_invoice_changed_in_visma_since_our_write_goes_to_review_not_overwritten() -> None:
    h = SupplierHarness()
    supplier = str(await h.suppliers.apply(vendor_command()))
    number = await h.invoices.apply(bill_command())
    await h.api(
        "PUT",
        f"/v1/supplierInvoice/Invoice/{number}",
        json={"invoiceLines": [{"operation": "Delete", "lineNumber": {"value": 2}}]},
    )  # someone removed a line in Visma: the amount is now 1000.50

    result = await h.invoices.apply(bill_command("cmd-b2", amount=Decimal("2000"), lines=[
        SupplierInvoiceLineWrite(description="All", amount=Decimal("2000"), account_number="6100")
    ]))  # fmt: skip

    assert result is None
    (invoice,) = await h.invoices_of(supplier, REF)
    assert invoice["amount"] == 1000.5
    (conflict,) = h.review.sent
    assert [(d.field, d.expected, d.found) for d in conflict.differences] == [
        ("amount", "1250.50", "1000.50")
    ]


async def test_an_invoice_entered_by_hand_with_the_same_reference_is_never_duplicated() -> None:
    h = SupplierHarness()
    supplier = str(await h.suppliers.apply(vendor_command()))
    await h.api("POST", "/v1/supplierInvoice", json={
        "supplierNumber": {"value": supplier}, "supplierReference": {"value": REF},
        "date": {"value": "2026-03-01"}, "invoiceLines": [{
            "operation": "Insert", "unitCostInCurrency": {"value": 99},
            "accountNumber": {"value": "6100"},
        }],
    })  # fmt: skip

    result = await h.invoices.apply(bill_command())

    assert result is None
    assert len(await h.invoices_of(supplier, REF)) == 1
    (conflict,) = h.review.sent
    assert "by hand" in conflict.reason
