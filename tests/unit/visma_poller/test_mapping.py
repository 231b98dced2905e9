"""Visma records become canonical events: ids, versions, change types, payloads, and every
event survives an Avro round trip through the real schema catalog."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from chassis.serde import AvroSerde, SchemaCatalog
from events import VISMA_EVENTS, ChangeType, SupplierInvoiceChanged
from events.visma import SupplierInvoiceLine
from visma_client import VISMA_ENTITIES
from visma_client.models import SupplierInvoiceDto, VismaRecordDto
from visma_poller.mapping import UnusableRecordError, entity_event, supplier_invoice_event

pytestmark = pytest.mark.unit

OBSERVED = datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)
STAMPS = {
    "createdDateTime": "2026-02-20T08:00:00.000",
    "lastModifiedDateTime": "2026-02-27T09:15:42.123",
    "timeStamp": "AAAAAAAdR0E=",
    "metadata": {"totalCount": 1, "maxPageSize": 100},
}
MODIFIED = datetime(2026, 2, 27, 9, 15, 42, 123000, tzinfo=UTC)
PARTY = {"internalId": 118, "number": "50012", "name": "Nordic Office Supply AS"}

# Realistic list items as the API sends them (amounts are JSON numbers with 2 decimals).
WIRE: dict[str, str] = {
    "supplier": json.dumps(
        {
            **PARTY,
            "status": "Active",
            "supplierClass": {"id": "OFFICE", "description": "Office supplies"},
            "currencyId": "NOK",
            "vatRegistrationId": "NO912345678MVA",
            "corporateId": "912345678",
            "mainContact": {"email": "ap@nordicoffice.no", "phone1": "+47 22 11 00 00"},
        }
    ),
    "supplierInvoice": """{"documentType": "Invoice", "referenceNumber": "100231",
        "status": "Open", "approvalStatus": "PendingApproval",
        "supplier": {"internalId": 118, "number": "50012", "name": "Nordic Office Supply AS"},
        "date": "2026-02-20T00:00:00", "dueDate": "2026-03-22T00:00:00", "currencyId": "NOK",
        "amount": 12500.10, "vatAmount": 2500.02, "balance": 12500.10,
        "supplierReference": "INV-8841", "description": "Desks",
        "invoiceLines": [{"lineNumber": 1, "amount": 12500.10, "poNumber": "PO000231",
          "transactionDescription": "Standing desks", "accountNumber": "5420",
          "subaccount": {"id": "CC100"}}]}""",
    "purchaseOrder": """{"orderType": "RegularOrder", "orderNbr": "PO000231", "status": "Open",
        "date": "2026-02-01T00:00:00", "promisedOn": "2026-02-15T00:00:00",
        "supplier": {"number": "50012", "name": "Nordic Office Supply AS"}, "currencyId": "NOK",
        "orderTotal": 12500.10, "lines": [
          {"lineNbr": 1, "inventoryNumber": "DESK-01", "lineDescription": "Standing desk",
           "orderQty": 2, "unitCost": 6250.05, "amount": 12500.10}]}""",
    "purchaseReceipt": """{"receiptType": "PoReceipt", "receiptNbr": "PR000077",
        "status": "Released", "date": "2026-02-14T00:00:00",
        "supplier": {"number": "50012", "name": "Nordic Office Supply AS"}, "currencyId": "NOK",
        "totalQty": 2.00, "totalAmount": 12500.10, "lines": [
          {"lineNbr": 1, "poOrderNbr": "PO000231", "inventoryNumber": "DESK-01",
           "receiptQty": 2.00}]}""",
    "expenseClaim": """{"refNbr": "EC000012", "status": "PendingApproval",
        "approvalStatus": "Pending", "date": "2026-02-18T00:00:00",
        "claimedBy": {"id": "E0042", "name": "Kari Nordmann"}, "currencyId": "NOK",
        "claimTotal": 1849.50, "description": "Client visit Bergen", "lines": [
          {"lineNbr": 1, "expenseItem": "TRAVEL", "description": "Train", "amount": 1249.50},
          {"lineNbr": 2, "expenseItem": "MEALS", "description": "Dinner", "amount": 600.00}]}""",
    "journalTransaction": """{"module": "ModuleGL", "batchNumber": "GL000311",
        "status": "Balanced", "transactionDate": "2026-02-28T00:00:00", "currencyId": "NOK",
        "controlTotalInCurrency": 4000.00, "description": "Accrual February", "lines": [
          {"lineNumber": 1, "accountNumber": "6300", "subaccount": {"subaccountNumber": "10-200"},
           "debitAmountInCurrency": 4000.00, "creditAmountInCurrency": 0.00,
           "transactionDescription": "Rent"},
          {"lineNumber": 2, "accountNumber": "2960", "subaccount": "10-000",
           "debitAmountInCurrency": 0.00, "creditAmountInCurrency": 4000.00}]}""",
    "customerInvoice": """{"documentType": "Invoice", "referenceNumber": "CI004410",
        "status": "Open", "customer": {"number": "10020", "name": "Fjord Hotels ASA"},
        "date": "2026-02-25T00:00:00", "dueDate": "2026-03-11T00:00:00", "currencyId": "EUR",
        "amount": 8800.00, "vatTotal": 1760.00, "balance": 8800.00}""",
    "customer": json.dumps(
        {
            "internalId": 77,
            "number": 10020,
            "name": "Fjord Hotels ASA",
            "status": "Active",
            "currencyId": "EUR",
            "mainContact": {"email": "finance@fjordhotels.no", "phone1": "+47 55 00 00 00"},
        }
    ),
    "supplierPayment": """{"type": "Payment", "refNbr": "SP000090", "status": "Closed",
        "supplier": {"number": "50012", "name": "Nordic Office Supply AS"},
        "paymentMethod": {"id": "BANK", "description": "Bank transfer"},
        "applicationDate": "2026-02-26T00:00:00", "currency": "NOK",
        "paymentAmount": 12500.10}""",
    "customerPayment": """{"type": "Payment", "refNbr": "CP000031", "status": "Open",
        "customer": {"number": "10020", "name": "Fjord Hotels ASA"},
        "paymentMethod": {"id": "BANK"}, "applicationDate": "2026-02-27T00:00:00",
        "currency": "EUR", "paymentAmount": 8800.00}""",
    "account": json.dumps(
        {
            "accountId": 412,
            "accountCd": "6300",
            "description": "Rent premises",
            "type": "Expense",
            "active": True,
            "accountGroup": "OPEX",
        }
    ),
    "dimension": json.dumps(
        {
            "dimensionId": "DEPARTMENT",
            "segmentId": 1,
            "valueId": "SALES",
            "description": "Sales",
            "active": True,
        }
    ),
    "employee": json.dumps(
        {
            "employeeId": 42,
            "employeeNumber": "E0042",
            "employeeName": "Kari Nordmann",
            "status": "Active",
            "department": "SALES",
            "contact": {"email": "kari@example.no", "phone1": "+47 900 00 000"},
        }
    ),
}

ENTITY_IDS = {
    "supplier": "50012",
    "supplierInvoice": "Invoice:100231",
    "purchaseOrder": "RegularOrder:PO000231",
    "purchaseReceipt": "PR000077",
    "expenseClaim": "EC000012",
    "journalTransaction": "ModuleGL:GL000311",
    "customerInvoice": "Invoice:CI004410",
    "customer": "10020",
    "supplierPayment": "Payment:SP000090",
    "customerPayment": "Payment:CP000031",
    "account": "6300",
    "dimension": "DEPARTMENT/1/SALES",
    "employee": "E0042",
}


def dto(name: str, **changes: Any) -> VismaRecordDto:
    body = {**json.loads(WIRE[name], parse_float=Decimal), **STAMPS, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    return VISMA_ENTITIES[name].model.model_validate(body)


def event_of(name: str, **changes: Any) -> Any:
    return entity_event(
        name, dto(name, **changes), tenant_id="tnt", company_id="1234567", observed_at=OBSERVED
    )


def test_every_entity_has_a_sample() -> None:
    assert set(WIRE) == set(VISMA_ENTITIES) == set(VISMA_EVENTS)


@pytest.mark.parametrize("name", sorted(WIRE))
def test_each_entity_becomes_its_event_with_a_stable_id(name: str) -> None:
    event = event_of(name)

    assert type(event) is VISMA_EVENTS[name]
    assert event.entity_type == name
    assert event.entity_id == ENTITY_IDS[name]
    assert event.event_id == f"tnt/1234567/{name}/{ENTITY_IDS[name]}@1772183742123"
    assert event.key == f"tnt/1234567/{name}/{ENTITY_IDS[name]}"
    assert event.last_modified == MODIFIED
    assert event.etag == "AAAAAAAdR0E="
    assert event.observed_at == OBSERVED
    assert event.change_type is ChangeType.UPDATED
    assert event == event_of(name), "the same version maps to the same event"


@pytest.mark.parametrize("name", sorted(WIRE))
def test_each_event_round_trips_through_its_avro_schema(name: str) -> None:
    serde = AvroSerde(SchemaCatalog.load())
    event = event_of(name)

    schema, record = serde.decode(serde.encode(event.SCHEMA, event.to_record()))

    assert schema == event.SCHEMA
    assert type(event).from_record(record) == event


@pytest.mark.parametrize("name", sorted(WIRE))
def test_a_record_changed_at_creation_is_created(name: str) -> None:
    event = event_of(name, createdDateTime=STAMPS["lastModifiedDateTime"])
    assert event.change_type is ChangeType.CREATED


@pytest.mark.parametrize("name", sorted(WIRE))
def test_a_record_without_last_modified_is_unusable(name: str) -> None:
    with pytest.raises(UnusableRecordError, match="lastModifiedDateTime"):
        event_of(name, lastModifiedDateTime=None)


ID_FIELDS = {
    "supplier": "number",
    "purchaseOrder": "orderNbr",
    "purchaseReceipt": "receiptNbr",
    "expenseClaim": "refNbr",
    "journalTransaction": "module",
    "customerInvoice": "documentType",
    "customer": "number",
    "supplierPayment": "type",
    "customerPayment": "refNbr",
    "account": "accountCd",
    "dimension": "segmentId",
    "employee": "employeeNumber",
}


@pytest.mark.parametrize("name", sorted(ID_FIELDS))
def test_a_record_without_an_id_field_is_unusable(name: str) -> None:
    with pytest.raises(UnusableRecordError, match=name):
        event_of(name, **{ID_FIELDS[name]: None})


def test_payloads_flatten_references_and_keep_money_exact() -> None:
    order = event_of("purchaseOrder").purchase_order
    assert (order.supplier_number, order.supplier_name) == ("50012", "Nordic Office Supply AS")
    assert order.order_date == date(2026, 2, 1)
    assert order.order_total == Decimal("12500.10")
    assert order.lines[0].unit_cost * order.lines[0].quantity == order.lines[0].amount

    claim = event_of("expenseClaim").expense_claim
    assert (claim.employee_number, claim.employee_name) == ("E0042", "Kari Nordmann")
    assert sum(line.amount for line in claim.lines) == claim.claim_total

    journal = event_of("journalTransaction").journal_transaction
    assert [line.subaccount for line in journal.lines] == ["10-200", "10-000"]

    supplier = event_of("supplier").supplier
    assert supplier.supplier_class_description == "Office supplies"
    assert supplier.email == "ap@nordicoffice.no"
    assert event_of("customer").customer.number == "10020"
    assert event_of("employee").employee.email == "kari@example.no"


def test_supplier_invoice_event_keeps_its_shape() -> None:
    raw = {**json.loads(WIRE["supplierInvoice"], parse_float=Decimal), **STAMPS}
    event = supplier_invoice_event(
        SupplierInvoiceDto.model_validate(raw),
        tenant_id="tnt",
        company_id="1234567",
        observed_at=OBSERVED,
    )

    assert isinstance(event, SupplierInvoiceChanged)
    assert event.invoice.po_reference == "PO000231"
    assert event.invoice.amount == Decimal("12500.10")
    assert event.invoice.invoice_date == date(2026, 2, 20)


def test_a_supplier_invoice_keeps_its_lines_gl_account_and_cost_center() -> None:
    (line,) = event_of("supplierInvoice").invoice.lines
    assert line == SupplierInvoiceLine(
        line_number=1, description="Standing desks", amount=Decimal("12500.10"),
        account_number="5420", subaccount="CC100",
    )  # fmt: skip


def test_a_supplier_invoice_without_document_type_is_a_standard_invoice() -> None:
    event = event_of("supplierInvoice", documentType=None, amount=None, currencyId=None)
    assert event.entity_id == "Invoice:100231"
    assert (event.invoice.amount, event.invoice.currency) == (Decimal(0), "")


def test_an_unknown_entity_type_is_refused() -> None:
    with pytest.raises(ValueError, match="salesOrder"):
        entity_event(
            "salesOrder", dto("customer"), tenant_id="t", company_id="c", observed_at=OBSERVED
        )
