"""The example Airbase rules make the processor emit what the airbase-sink writes: one
SyncToAirbase per supplier, invoice (lines and all), order, receipt, GL account and cost
center, keyed by tenant, each translating to its Airbase object."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.unit.airbase_sink.airbase_sink_kit import tenant

from airbase_sink.records import translate
from events import ChangeType, VismaEntityChanged
from events.commands import SyncToAirbase
from events.visma import SupplierInvoice, SupplierInvoiceChanged, SupplierInvoiceLine
from events.visma_procurement import (
    PurchaseOrder,
    PurchaseOrderChanged,
    PurchaseReceipt,
    PurchaseReceiptChanged,
    PurchaseReceiptLine,
)
from events.visma_reference import (
    Account,
    AccountChanged,
    Dimension,
    DimensionChanged,
    Supplier,
    SupplierChanged,
)
from processor.routing import route_all
from processor.rules import load_rules

pytestmark = pytest.mark.unit

RULES = Path(__file__).resolve().parents[3] / "services/processor/examples/airbase-rules.yaml"
AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def fact(model: type[VismaEntityChanged], entity_id: str, payload: Any) -> VismaEntityChanged:
    return model.model_validate({
        "event_id": f"e-{entity_id}", "tenant_id": "tenant-se-1", "company_id": "1234567",
        "entity_id": entity_id, "change_type": ChangeType.CREATED, "last_modified": AT,
        "observed_at": AT, model.payload_field(): payload,
    })  # fmt: skip


FACTS = [
    (fact(SupplierChanged, "50001", Supplier(number="50001", name="Acme AB")), "vendors/50001"),
    (fact(SupplierInvoiceChanged, "Invoice:10042", SupplierInvoice(
        document_type="Invoice", reference_number="10042", supplier_number="50001",
        currency="SEK", amount=Decimal("1250.50"),
        lines=[SupplierInvoiceLine(line_number=1, amount=Decimal("1250.50"),
                                   account_number="5410", subaccount="CC100")],
    )), "bills/10042"),
    (fact(PurchaseOrderChanged, "RegularOrder:PO0042", PurchaseOrder(
        order_type="RegularOrder", order_number="PO0042", supplier_number="50001",
    )), "purchase_orders/PO0042"),
    (fact(PurchaseReceiptChanged, "R0007", PurchaseReceipt(
        receipt_number="R0007", status="Released",
        lines=[PurchaseReceiptLine(po_order_number="PO0042")],
    )), "purchase_orders/PO0042"),
    (fact(AccountChanged, "5410", Account(account_code="5410")), "accounts/5410"),
    (fact(DimensionChanged, "SUBACCOUNT;1;CC100", Dimension(
        dimension_id="SUBACCOUNT", segment_id=1, value_id="CC100")), "departments/CC100"),
]  # fmt: skip


@pytest.mark.parametrize(("event", "target"), FACTS, ids=[t for _, t in FACTS])
def test_each_fact_the_rules_route_becomes_its_airbase_object(
    event: VismaEntityChanged, target: str
) -> None:
    (command,) = route_all(event, load_rules(RULES))
    assert isinstance(command, SyncToAirbase)
    assert command.key == "tenant-se-1"
    (write,) = translate(command, tenant()).writes
    assert write.target == target


def test_the_bill_keeps_the_invoice_lines_account_and_cost_center() -> None:
    (command,) = route_all(FACTS[1][0], load_rules(RULES))
    assert isinstance(command, SyncToAirbase)
    (bill,) = translate(command, tenant()).writes
    assert bill.update["expense_list"] == [{
        "line_number": 1, "amount": "1250.50", "account": {"erp_reference_id": "5410"},
        "tags": [{"type": "department", "erp_reference_id": "CC100"}],
    }]  # fmt: skip
