"""What the processor sends to Monday (CreateMondayItem v2): the record's identity and its
fields as display strings, days overdue for collections, reference data (GL accounts,
dimensions) routed to a reference board, and a v1 command still readable."""

from __future__ import annotations

import io
import struct
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pytest
from tests.unit.processor.conftest import make_event

from chassis.serde import AvroSerde
from events import (
    VISMA_EVENTS,
    Account,
    AccountChanged,
    ChangeType,
    CustomerInvoice,
    CustomerInvoiceChanged,
    Dimension,
    DimensionChanged,
    JournalTransaction,
    JournalTransactionChanged,
    PurchaseOrder,
    PurchaseOrderChanged,
    VismaEntityChanged,
)
from events.commands import CreateMondayItem
from events.monday import VismaRecordRef
from events.topics import visma_topic
from events.visma_ledger import JournalTransactionLine
from events.visma_procurement import PurchaseOrderLine
from mlc.rules_cli import rules_test
from monday_sink.mapping import load_mappings
from processor.config import ProcessorSettings
from processor.item_fields import DERIVED_FIELDS, display
from processor.matchers import first_failure
from processor.reminders import ReminderState, reminder_commands
from processor.routing import route_all
from processor.rules import RuleSet, parse_rules
from processor.rules_facts import facts_of

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[3] / "services" / "processor" / "examples"

OBSERVED = datetime(2026, 3, 1, 8, 1, tzinfo=UTC)

BOARDS = """\
rules:
  - name: procurement
    when: {entity_type: [supplierInvoice, purchaseOrder]}
    targets:
      - monday: {board: 111, group: incoming}
  - name: collections
    when: {entity_type: customerInvoice}
    remind: {every: 1d}
    targets:
      - monday: {board: 222}
  - name: ledger
    when: {entity_type: journalTransaction}
    targets:
      - monday: {board: 333}
  - name: reference
    when: {entity_type: [account, dimension]}
    targets:
      - monday: {board: 444}
"""


@pytest.fixture
def boards() -> RuleSet:
    return parse_rules(BOARDS)


def _event(model: type[VismaEntityChanged], entity_id: str, **payload: Any) -> Any:
    name = model.payload_field()
    return model(
        event_id=f"t1/c1/{model.canonical_type()}/{entity_id}@1",
        tenant_id="t1",
        company_id="c1",
        entity_id=entity_id,
        change_type=ChangeType.UPDATED,
        last_modified=OBSERVED - timedelta(minutes=1),
        observed_at=OBSERVED,
        **{name: payload},
    )


def customer_invoice(**fields: Any) -> CustomerInvoiceChanged:
    values: dict[str, Any] = {
        "document_type": "Invoice",
        "reference_number": "7001",
        "customer_name": "Nordic Retail AS",
        "due_date": date(2026, 2, 20),
        "currency": "NOK",
        "amount": Decimal("4200.5"),
        "balance": Decimal("4200.5"),
    } | fields
    event: CustomerInvoiceChanged = _event(
        CustomerInvoiceChanged, "Invoice:7001", **CustomerInvoice(**values).model_dump()
    )
    return event


def _only(commands: list[Any]) -> CreateMondayItem:
    assert len(commands) == 1
    command = commands[0]
    assert isinstance(command, CreateMondayItem)
    return command


def test_a_supplier_invoice_carries_its_identity_and_every_field(boards: RuleSet) -> None:
    item = _only(route_all(make_event(status="Open", vat_amount=Decimal("25000")), boards))

    assert item.board_id == "111"
    assert item.group_id == "incoming"
    assert item.visma_id == "c1/supplierInvoice/Invoice:10042"
    assert item.fields["visma_id"] == item.visma_id
    assert {k: item.fields[k] for k in (
        "reference_number", "supplier_name", "po_reference", "due_date", "amount",
        "vat_amount", "currency", "status", "document_type",
    )} == {
        "reference_number": "10042", "supplier_name": "Acme AB", "po_reference": "PO-7",
        "due_date": "2026-03-31", "amount": "125000.00", "vat_amount": "25000.00",
        "currency": "SEK", "status": "Open", "document_type": "Invoice",
    }  # fmt: skip
    assert item.fields["approval_status"] == ""  # no value: empty, so an update clears it
    assert {k: item.fields[k] for k in ("label", "reference", "party", "total", "entity_type",
                                        "entity_id", "company_id", "change_type")} == {
        "label": "Supplier invoice", "reference": "10042", "party": "Acme AB",
        "total": "125000.00", "entity_type": "supplierInvoice", "entity_id": "Invoice:10042",
        "company_id": "c1", "change_type": "CREATED",
    }  # fmt: skip
    assert "days_overdue" not in item.fields  # only customer invoices, for collections


def test_the_visma_id_is_the_same_for_every_version_of_a_record(boards: RuleSet) -> None:
    first = _only(route_all(make_event(), boards))
    later = make_event(amount="99", change_type=ChangeType.UPDATED,
                       last_modified=datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
    second = _only(route_all(later, boards))
    other = _only(route_all(make_event(entity_id="Invoice:10043"), boards))

    assert first.command_id != second.command_id
    assert first.visma_id == second.visma_id
    assert second.fields["amount"] == "99.00"
    assert other.visma_id == "c1/supplierInvoice/Invoice:10043"


@pytest.mark.parametrize(
    ("fields", "today", "expected"),
    [
        pytest.param({}, None, "9", id="9-days-late-on-the-day-observed"),
        pytest.param({}, date(2026, 3, 10), "18", id="the-processors-today"),
        pytest.param({"due_date": date(2026, 3, 1)}, None, "0", id="due-today"),
        pytest.param({"due_date": date(2026, 4, 1)}, None, "0", id="not-yet-due"),
        pytest.param({"balance": Decimal(0)}, None, "0", id="paid-in-full"),
        pytest.param({"status": "Closed"}, None, "0", id="closed"),
        pytest.param({"due_date": None}, None, "", id="no-due-date"),
    ],
)
def test_a_customer_invoice_says_how_many_days_it_is_overdue(
    boards: RuleSet, fields: dict[str, Any], today: date | None, expected: str
) -> None:
    item = _only(route_all(customer_invoice(**fields), boards, today=today))

    assert item.board_id == "222"
    assert item.visma_id == "c1/customerInvoice/Invoice:7001"
    assert item.fields["days_overdue"] == expected
    assert item.fields["amount"] == "4200.50"
    assert item.fields["party"] == "Nordic Retail AS"


def test_a_reminder_refreshes_days_overdue_on_the_same_item(boards: RuleSet) -> None:
    event = customer_invoice()
    routed = _only(route_all(event, boards))
    rule = next(r for r in boards.rules if r.name == "collections")
    state = ReminderState(entity_key=event.key, rule=rule.name, partition=0, anchor=OBSERVED,
                          event=event.model_dump(mode="json"), enrichment={})  # fmt: skip
    five_days_on = facts_of(event, today=date(2026, 3, 6))

    reminder = _only(reminder_commands(five_days_on, rule, state, period=5))

    assert reminder.command_id != routed.command_id
    assert reminder.visma_id == routed.visma_id  # the sink updates the item it made
    assert reminder.item_name == routed.item_name  # not renamed "Reminder: ..."
    assert (routed.fields["days_overdue"], reminder.fields["days_overdue"]) == ("9", "14")


def test_orders_and_journal_transactions_leave_their_lines_out(boards: RuleSet) -> None:
    line = PurchaseOrderLine(line_number=1, quantity=Decimal(3), unit_cost=Decimal("12.3456"))
    order = _event(PurchaseOrderChanged, "RegularOrder:PO-0042", **PurchaseOrder(
        order_type="RegularOrder", order_number="PO-0042", supplier_name="Acme AB",
        promised_on=date(2026, 3, 20), currency="SEK", order_total=Decimal("37.04"),
        lines=[line],
    ).model_dump())  # fmt: skip
    journal = _event(JournalTransactionChanged, "GL:000123", **JournalTransaction(
        module="GL", batch_number="000123", transaction_date=date(2026, 2, 28),
        control_total=Decimal("1500"), lines=[JournalTransactionLine(account_number="1930")],
    ).model_dump())  # fmt: skip

    po = _only(route_all(order, boards))
    gl = _only(route_all(journal, boards))

    assert (po.board_id, po.visma_id) == ("111", "c1/purchaseOrder/RegularOrder:PO-0042")
    assert "lines" not in po.fields
    assert {k: po.fields[k] for k in ("order_number", "promised_on", "order_total", "total",
                                      "reference", "party")} == {
        "order_number": "PO-0042", "promised_on": "2026-03-20", "order_total": "37.04",
        "total": "37.04", "reference": "PO-0042", "party": "Acme AB",
    }  # fmt: skip
    assert (gl.board_id, gl.visma_id) == ("333", "c1/journalTransaction/GL:000123")
    assert "lines" not in gl.fields
    assert (gl.fields["control_total"], gl.fields["reference"]) == ("1500.00", "000123")


def test_gl_accounts_and_dimensions_go_to_the_reference_board(boards: RuleSet) -> None:
    account = _event(AccountChanged, "1930", **Account(
        account_code="1930", description="Bank account", account_type="Asset", active=True,
    ).model_dump())  # fmt: skip
    dimension = _event(DimensionChanged, "DEPARTMENT/1/SALES", **Dimension(
        dimension_id="DEPARTMENT", segment_id=1, value_id="SALES", description="Sales",
        active=False,
    ).model_dump())  # fmt: skip

    gl = _only(route_all(account, boards))
    dim = _only(route_all(dimension, boards))

    assert (gl.board_id, gl.visma_id) == ("444", "c1/account/1930")
    assert {k: gl.fields[k] for k in ("account_code", "description", "account_type", "active",
                                      "label", "reference", "total")} == {
        "account_code": "1930", "description": "Bank account", "account_type": "Asset",
        "active": "true", "label": "Account", "reference": "1930", "total": "",
    }  # fmt: skip
    assert (dim.board_id, dim.visma_id) == ("444", "c1/dimension/DEPARTMENT/1/SALES")
    assert {k: dim.fields[k] for k in ("dimension_id", "segment_id", "value_id", "active")} == {
        "dimension_id": "DEPARTMENT", "segment_id": "1", "value_id": "SALES", "active": "false",
    }  # fmt: skip


def test_the_processor_reads_the_reference_topics_as_inputs_too() -> None:
    # Before: reference entities were only joined against, so a rule on GL accounts or
    # dimensions (valid in the rules file) never saw an event.
    settings = ProcessorSettings()
    inputs = settings.input_topics()

    assert set(inputs) == {visma_topic(entity).name for entity in VISMA_EVENTS}
    assert visma_topic("account").name in inputs
    assert visma_topic("dimension").name in inputs
    specs = settings.topic_specs()
    names = [spec.name for spec in specs]
    assert len(names) == len(set(names))  # each topic declared once
    by_name = {spec.name: spec for spec in specs}
    assert by_name[visma_topic("account").name].compacted
    assert not by_name[visma_topic("customerInvoice").name].compacted


def test_no_visma_payload_field_is_shadowed_by_a_derived_one() -> None:
    for model in VISMA_EVENTS.values():
        payload = model.model_fields[model.payload_field()].annotation
        assert isinstance(payload, type)
        assert not DERIVED_FIELDS & set(payload.model_fields), model.__name__


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("125000.0000"), "125000.00"),
        (Decimal("12.3456"), "12.3456"),
        (Decimal("3"), "3.00"),
        (Decimal("-0.5"), "-0.50"),
        (Decimal("1E+6"), "1000000.00"),
        (Decimal("NaN"), ""),
        (date(2026, 3, 31), "2026-03-31"),
        (True, "true"),
        (7, "7"),
        ("  Acme AB ", "Acme AB"),
        (None, ""),
    ],
)
def test_display_strings_fit_a_board_cell(value: object, shown: str) -> None:
    assert display(value) == shown


def test_a_v1_command_reads_as_an_item_without_identity(serde: AvroSerde) -> None:
    # A command written before v2 (still on sink.monday.v1) decodes with no visma_id and no
    # fields: the sink creates an item as v1 did.
    (v1,) = [s for s in serde.catalog.all() if (s.name, s.version) == (CreateMondayItem.SCHEMA, 1)]
    record = {"command_id": "c", "tenant_id": "t1", "board_id": "111", "group_id": None,
              "item_name": "Supplier invoice 1", "body": "b", "rule": "r",
              "source_event_id": "e", "entity_type": "supplierInvoice",
              "entity_id": "t1/c1/supplierInvoice/Invoice:1", "created_at": OBSERVED}  # fmt: skip
    buffer = io.BytesIO()
    buffer.write(struct.pack(">bI", 0, v1.schema_id))  # the wire format's magic byte and id
    fastavro.schemaless_writer(buffer, v1.parsed, record)

    name, decoded = serde.decode(buffer.getvalue())
    command = CreateMondayItem.from_record(decoded)

    assert name == CreateMondayItem.SCHEMA
    assert (command.visma_id, command.fields, command.board_id) == (None, {}, "111")


def test_a_v2_command_round_trips_with_its_fields(serde: AvroSerde, boards: RuleSet) -> None:
    item = _only(route_all(customer_invoice(), boards))

    _, decoded = serde.decode(serde.encode(CreateMondayItem.SCHEMA, item.to_record()))

    assert CreateMondayItem.from_record(decoded) == item


def test_a_dimension_visma_id_reads_back_as_its_record(boards: RuleSet) -> None:
    # The id of a dimension value has slashes of its own; the mo-webhooks side parses the
    # "Visma ID" column with VismaRecordRef.
    dimension = _event(DimensionChanged, "DEPARTMENT/1/SALES", **Dimension(
        dimension_id="DEPARTMENT", segment_id=1, value_id="SALES").model_dump())  # fmt: skip
    item = _only(route_all(dimension, boards))

    assert VismaRecordRef.parse(item.visma_id) == VismaRecordRef(
        "c1", "dimension", "DEPARTMENT/1/SALES"
    )
    assert VismaRecordRef.parse("acme/1234567/purchaseOrder/PO-7") is None  # no such type


def test_a_rule_can_be_for_one_tenant_only() -> None:
    # A Monday board is in one tenant's monday account: its rule must not take the records
    # of the other tenants (which the board's mapping and token know nothing of).
    rules = parse_rules("""\
rules:
  - name: se-board
    when: {tenant: [tenant-se-1], entity_type: customerInvoice}
    targets:
      - monday: {board: 1000000001}
""")
    ours = customer_invoice().model_copy(update={"tenant_id": "tenant-se-1"})
    theirs = customer_invoice().model_copy(update={"tenant_id": "tenant-no-1"})

    assert [c.board_id for c in route_all(ours, rules)] == ["1000000001"]
    assert route_all(theirs, rules) == []
    assert first_failure(rules.rules[0].when, facts_of(theirs)) == "tenant"


def test_rules_test_shows_a_monday_items_fields_one_per_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: board\n    targets:\n      - monday: {board: 111}\n")
    out = io.StringIO()

    assert rules_test(rules, event=EXAMPLES / "supplier-invoice.json", out=out) == 0

    text = out.getvalue()
    assert "visma_id: c1/supplierInvoice/Invoice:10042" in text
    assert "fields.amount: 6250.00" in text
    assert "fields.reference: 10042" in text
    assert "fields.due_date: 2026-03-04" in text


def test_the_example_mapping_file_loads_and_names_fields_the_processor_sends() -> None:
    mappings = load_mappings(EXAMPLES / "monday-mapping.yaml")
    example_rules = parse_rules((EXAMPLES / "rules.yaml").read_text())
    boards = {t.spec.target_keys()[0].split(":")[1].split("/")[0]
              for r in example_rules.rules for t in r.targets if t.kind == "monday"}  # fmt: skip

    assert mappings.tenant == "nordic-wholesale"
    assert {spec.board for spec in mappings.boards} >= boards - {"1234567890"}
