"""AirbaseWrites: each Visma record upserted once by its ERP reference; a replay calls
nothing; a bill's vendor is made first, once; a crash after Airbase's 201 finds the object
instead of making another; a receipt marks its orders received; payments marked synced."""

from __future__ import annotations

import pytest
from tests.unit.airbase_sink.airbase_sink_kit import (
    Airbase,
    Sink,
    invoice,
    mark,
    supplier,
    sync,
    tenant,
)

from chassis.errors import NotArrivedYet, PermanentError
from chassis.kafka.producer import ProduceError
from chassis.kafka.record import Held

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


async def test_a_supplier_becomes_one_vendor_and_a_replay_calls_nothing() -> None:
    sink = Sink()
    await sink.handle(supplier("50001"))
    calls = len(sink.airbase.calls)
    await sink.handle(supplier("50001"))  # redelivered

    assert len(sink.airbase.calls) == calls
    vendor = sink.airbase.by_reference("vendors", "50001")
    assert vendor == {"erp_reference_id": "50001", "name": "Acme AB", "is_active": True,
                      "email": "ap@acme.example"}  # fmt: skip
    assert sink.audit.stages() == ["sent", "skipped"]
    assert sink.producer.sent[-1].destination == "vendors/50001"


async def test_a_bill_before_its_supplier_makes_the_vendor_first_and_only_once() -> None:
    sink = Sink()
    await sink.handle(invoice("10042", "50001"))
    await sink.handle(invoice("10043", "50001"))
    await sink.handle(supplier("50001", "Acme AB"))  # the supplier's own fact, later

    assert sink.airbase.creates == {("vendors", "50001"): 1, ("bills", "10042"): 1,
                                    ("bills", "10043"): 1}  # fmt: skip
    # The second bill knew its vendor from the ledger: no lookup, no create.
    assert sink.airbase.calls.count("find vendors") == 1
    assert sink.airbase.by_reference("vendors", "50001")["name"] == "Acme AB"  # updated
    bill = sink.airbase.by_reference("bills", "10042")
    assert bill["vendor"] == {"erp_reference_id": "50001"}
    assert bill["total_amount"] == "1250.50"
    assert bill["invoice_number"] == "INV-10042"
    assert bill["expense_list"] == [
        {"line_number": 1, "amount": "1000.50", "description": "Chairs",
         "account": {"erp_reference_id": "5410"},
         "tags": [{"type": "department", "erp_reference_id": "CC100"}]},
        {"line_number": 2, "amount": "250.00", "description": "Freight",
         "account": {"erp_reference_id": "5710"}, "tags": []},
    ]  # fmt: skip


async def test_a_new_version_of_an_invoice_patches_its_bill() -> None:
    sink = Sink()
    await sink.handle(invoice("10042", amount="1250.50"))
    await sink.handle(invoice("10042", amount="1300.00", version=2))

    assert sink.airbase.creates[("bills", "10042")] == 1
    assert sink.airbase.by_reference("bills", "10042")["total_amount"] == "1300.00"
    assert sink.airbase.calls.count("find bills") == 1  # the second knew it from the ledger
    assert sink.producer.sent[-1].external_id == sink.producer.sent[-2].external_id


async def test_a_crash_after_airbase_made_the_bill_finds_it_instead_of_making_another() -> None:
    sink = Sink()
    sink.producer.fail_next = True  # the audit is out, the vendor's entry never lands
    with pytest.raises(ProduceError):
        await sink.handle(invoice("10042"))
    assert sink.producer.sent == []
    again = sink.restarted()
    await again.handle(invoice("10042"))  # redelivered to the next process

    assert sink.airbase.creates == {("vendors", "50001"): 1, ("bills", "10042"): 1}
    (bill,) = sink.airbase.of("bills")
    assert again.producer.sent[-1].external_id == bill
    assert again.airbase.calls[-3:] == ["find vendors", "find bills", "update bills"]


async def test_a_restarted_sink_knows_its_objects_from_the_ledger() -> None:
    sink = Sink()
    await sink.handle(invoice("10042"))
    again = sink.restarted()
    await again.handle(invoice("10042", amount="99.00", version=2))

    assert again.airbase.calls[-1] == "update bills"
    assert "find bills" not in again.airbase.calls[len(sink.airbase.calls) - 1 :]


async def test_a_bill_deleted_in_airbase_is_made_again_at_the_next_version() -> None:
    sink = Sink()
    await sink.handle(invoice("10042"))
    sink.airbase.of("bills").clear()
    await sink.handle(invoice("10042", version=2))

    assert sink.airbase.creates[("bills", "10042")] == 2
    assert len(sink.airbase.of("bills")) == 1


async def test_a_credit_note_and_a_project_dimension_are_skipped_with_their_reason() -> None:
    sink = Sink()
    await sink.handle(invoice("20001", document_type="CreditNote"))
    await sink.handle(sync("dimension", "PROJECT;1;P-1", {
        "dimension_id": "PROJECT", "segment_id": 1, "value_id": "P-1"}))  # fmt: skip

    assert sink.airbase.calls == []
    assert [e["detail"] for e in sink.audit.events] == [
        "a Visma CreditNote is not a bill to approve",
        "dimension PROJECT is not a cost center (SUBACCOUNT)",
    ]


async def test_gl_accounts_and_cost_centers_fill_the_reference_tables() -> None:
    sink = Sink()
    await sink.handle(
        sync(
            "account",
            "5410",
            {"account_code": "5410", "description": "Förbrukningsinventarier", "active": True},
        )
    )
    await sink.handle(sync("dimension", "SUBACCOUNT;1;CC100", {
        "dimension_id": "SUBACCOUNT", "segment_id": 1, "value_id": "CC100",
        "description": "Finance"}))  # fmt: skip

    assert sink.airbase.by_reference("accounts", "5410") == {
        "erp_reference_id": "5410", "name": "Förbrukningsinventarier", "number": "5410",
        "is_active": True}  # fmt: skip
    assert sink.airbase.by_reference("departments", "CC100")["name"] == "Finance"


async def test_the_tenants_subsidiary_is_made_once_and_named_on_its_bills() -> None:
    sink = Sink(account=tenant(subsidiary="SE01"))
    await sink.handle(invoice("10042"))
    await sink.handle(invoice("10043"))

    assert sink.airbase.creates[("subsidiaries", "SE01")] == 1
    assert sink.airbase.by_reference("bills", "10043")["subsidiary"] == {"erp_reference_id":
                                                                          "SE01"}  # fmt: skip


async def test_a_purchase_order_and_its_receipt() -> None:
    sink = Sink()
    order = {"order_type": "RegularOrder", "order_number": "PO0042", "status": "Open",
             "supplier_number": "50001", "supplier_name": "Acme AB", "currency": "SEK",
             "order_total": "500", "lines": [{"line_number": 1, "description": "Desk",
                                              "quantity": "2", "amount": "500"}]}  # fmt: skip
    receipt = {"receipt_number": "R0007", "status": "Released",
               "lines": [{"line_number": 1, "po_order_number": "PO0042",
                          "receipt_quantity": "2"}]}  # fmt: skip
    with pytest.raises(NotArrivedYet, match="PO0042 is not in Airbase yet"):
        await sink.handle(sync("purchaseReceipt", "R0007", receipt))
    assert sink.audit.stages() == ["retried"]  # the wait, once
    await sink.handle(sync("purchaseOrder", "RegularOrder:PO0042", order))
    await sink.handle(sync("purchaseReceipt", "R0007", receipt))

    made = sink.airbase.by_reference("purchase_orders", "PO0042")
    assert made["status"] == "received"
    assert made["line_items"] == [{"line_number": 1, "description": "Desk", "quantity": "2",
                                   "amount": "500.00"}]  # fmt: skip
    assert sink.airbase.creates[("vendors", "50001")] == 1


async def test_a_payment_is_marked_synced_once() -> None:
    sink = Sink()
    await sink.handle(mark("ab-entry-7", "000123"))
    await sink.handle(mark("ab-entry-7", "000123"))  # the writer's mark, redelivered

    assert sink.airbase.marked == {"ab-entry-7": "000123"}
    assert sink.airbase.calls == ["mark_synced"]
    assert sink.producer.sent[-1].external_id == "ab-entry-7"


async def test_a_refused_token_holds_the_tenant_instead_of_failing_the_command() -> None:
    airbase = Airbase("old", refused={"old"})
    sink = Sink(airbase)
    with pytest.raises(Held):
        await sink.handle(supplier("50001"))
    with pytest.raises(Held):  # held at once, no call
        await sink.handle(supplier("50002"))
    assert airbase.calls == ["find vendors"]
    assert sink.producer.sent == []
    await sink.clients.aclose()


async def test_a_tenant_without_an_account_is_a_permanent_error() -> None:
    sink = Sink()
    command = supplier("50001").model_copy(update={"tenant_id": "tenant-xx"})
    with pytest.raises(PermanentError, match="tenant tenant-xx has no Airbase account"):
        await sink.handle(command)
