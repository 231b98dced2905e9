"""BILL vendors and bills written by the Visma writer process, on the real broker, into the
Visma sandbox: one supplier per vendor and one supplier invoice per bill, whatever is
repeated, redelivered, refused with 412 or killed.

Counted where it matters, in Visma (the sandbox's entity listing). The commands are
produced twice and later redelivered from the start of the topic; one invoice update meets
a 412; and the writer is SIGKILLed ten times (five supplier creates, five invoice creates)
between Visma's 201 (the record exists) and the ledger's DONE, at a random point of an
answer the sandbox holds back.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from events.visma_writes import SupplierInvoiceLineWrite, UpsertSupplier, UpsertSupplierInvoice
from mlc.stack import FlowStack
from tests.e2e.test_visma_writer import COMPANY
from tests.e2e.test_visma_writer_receipts import ReceiptRun

pytestmark = pytest.mark.e2e


def vendor(n: int, *, version: int = 1, name: str | None = None) -> UpsertSupplier:
    vendor_id = f"00901VEN{n:03d}"
    return UpsertSupplier(
        command_id=f"vendor-{vendor_id}-v{version}",
        tenant_id=COMPANY,
        company_id=COMPANY,
        source_system="bill",
        source_id=vendor_id,
        name=name or f"Leverandør {n} ApS",
        corporate_id=f"4{n:07d}",
        vat_registration_id=f"DK4{n:07d}",
        currency_id="DKK",
        rule="bill-vendors",
        source_event_id=f"bill-vendor-{vendor_id}-{version}",
        entity_type="supplier",
        entity_id=f"{COMPANY}/{COMPANY}/supplier/bill:{vendor_id}",
        created_at=datetime.now(UTC),
    )


def bill(n: int, k: int, *, version: int = 1, amount: str = "1000.00") -> UpsertSupplierInvoice:
    bill_id = f"00n01B{n:03d}{k}"
    return UpsertSupplierInvoice(
        command_id=f"bill-{bill_id}-v{version}",
        tenant_id=COMPANY,
        company_id=COMPANY,
        source_system="bill",
        source_id=bill_id,
        source_vendor_id=f"00901VEN{n:03d}",
        supplier_reference=f"INV-{n}-{k}",
        invoice_date=date(2026, 3, 1),
        currency_id="DKK",
        amount=Decimal(amount),
        lines=[
            SupplierInvoiceLineWrite(
                description="Services",
                amount=Decimal(amount),
                account_number="6100",
                subaccount="100-20",
            )
        ],
        rule="bill-bills",
        source_event_id=f"bill-bill-{bill_id}-{version}",
        entity_type="supplierInvoice",
        entity_id=f"{COMPANY}/{COMPANY}/supplierInvoice/bill:{bill_id}",
        created_at=datetime.now(UTC),
    )


class SupplierRun(ReceiptRun):
    def _listed(self, entity: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.admin("GET", f"/entities/{entity}?company={COMPANY}")
        return rows

    def suppliers_of(self, command: UpsertSupplier) -> list[str]:
        return [
            str(s["number"]) for s in self._listed("supplier")
            if s.get("corporateId") == command.corporate_id
        ]  # fmt: skip

    def invoices_of(self, command: UpsertSupplierInvoice) -> list[dict[str, Any]]:
        return [
            i for i in self._listed("supplierInvoice")
            if i.get("supplierReference") == command.supplier_reference
        ]  # fmt: skip


@pytest.fixture
def run(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> SupplierRun:
    stack = make_stack(invoices=5)
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"writer-{stack.run_id}")
    stack.start_sandbox()
    return SupplierRun(stack, kafka_bootstrap)


def test_vendors_and_bills_produced_twice_redelivered_and_updated_through_a_412_once(
    run: SupplierRun,
) -> None:
    vendors = [vendor(n) for n in range(3)]
    bills = [bill(n, k) for n in range(3) for k in range(2)]
    writer = run.stack.start("visma-writer")

    run.send(*vendors, *bills, *vendors, *bills)  # produced twice, each bill after its vendor
    wanted = {c.command_id for c in (*vendors, *bills)}
    run.wait("every write DONE", lambda: run.done() >= wanted)
    run.wait("every command handled", run.all_handled)

    changed = bill(0, 0, version=2, amount="1500.00")
    (first,) = run.invoices_of(changed)
    number = str(first["referenceNumber"])
    put = f"/v1/supplierInvoice/Invoice/{number}"
    run.admin("POST", "/faults", {"status": 412, "method": "PUT", "times": 1, "path_prefix": put})
    run.send(changed, vendor(1, version=2, name="Leverandør 1 A/S"))
    run.wait(
        "the changes DONE", lambda: run.done() >= {changed.command_id, "vendor-00901VEN001-v2"}
    )
    run.wait("every command handled", run.all_handled)
    assert run.admin("GET", "/faults/fired")["by_status"] == {"412": 1}

    writer.stop()
    run.rewind()  # everything redelivered from the start of the topic
    run.stack.start("visma-writer")
    run.wait("every command handled again", run.all_handled)

    assert {c.source_id: len(run.suppliers_of(c)) for c in vendors} == {
        c.source_id: 1 for c in vendors
    }
    invoices = {c.source_id: run.invoices_of(c) for c in bills}
    assert {k: len(v) for k, v in invoices.items()} == {c.source_id: 1 for c in bills}
    for command in bills:
        (invoice,) = invoices[command.source_id]
        n = int(command.source_vendor_id[-3:])
        assert invoice["supplier"]["number"] == run.suppliers_of(vendors[n])[0]
        assert invoice["amount"] == (1500.0 if command.source_id == changed.source_id else 1000.0)
        assert [(x["accountNumber"], x["subaccount"]) for x in invoice["invoiceLines"]] == [
            ("6100", {"id": "100-20"})
        ]
    counts = run.admin("GET", f"/invoices/{COMPANY}/{number}/actions")["actions"]
    assert counts == {"update": 1}, "the 412 was read again and applied once"
    renamed = [s for s in run._listed("supplier") if s["corporateId"] == vendors[1].corporate_id]
    assert renamed[0]["name"] == "Leverandør 1 A/S"


def test_sigkill_between_vismas_201_and_done_never_makes_a_second_supplier_or_invoice(
    run: SupplierRun,
) -> None:
    rng = random.Random()
    vendors = [vendor(n) for n in range(10, 15)]
    bills = [bill(n, 0) for n in range(10, 15)]
    for command, prefix in [
        *((v, "/v1/supplier") for v in vendors), *((b, "/v1/supplierInvoice") for b in bills)
    ]:  # fmt: skip
        hold = round(rng.uniform(1.0, 4.0), 2)  # the answer comes back this much later
        run.admin("POST", "/faults", {"method": "POST", "path_prefix": prefix, "times": 1,
                                      "delay_after_seconds": hold})  # fmt: skip
        writer = run.stack.start("visma-writer")
        run.send(command)
        if isinstance(command, UpsertSupplier):
            run.wait("the supplier made in Visma", lambda c=command: len(run.suppliers_of(c)) == 1)
        else:
            run.wait("the invoice made in Visma", lambda c=command: len(run.invoices_of(c)) == 1)
        writer.kill()
        assert command.command_id not in run.done(), "killed before the ledger's DONE"

    run.admin("DELETE", "/faults")
    run.stack.start("visma-writer")
    wanted = {c.command_id for c in (*vendors, *bills)}
    run.wait("every write DONE", lambda: run.done() >= wanted, timeout=120)
    run.wait("every command handled", run.all_handled)

    assert [len(run.suppliers_of(v)) for v in vendors] == [1] * 5
    assert [len(run.invoices_of(b)) for b in bills] == [1] * 5
    done = run.done_as()
    assert {v.command_id: done[v.command_id] for v in vendors} == {
        v.command_id: run.suppliers_of(v)[0] for v in vendors
    }, "each DONE names the supplier found after the kill"
    assert {b.command_id: done[b.command_id] for b in bills} == {
        b.command_id: str(run.invoices_of(b)[0]["referenceNumber"]) for b in bills
    }
