"""AvroSerde: Confluent wire format, exact decimals, poison values, and registry-assigned ids."""

from __future__ import annotations

import json
import re
import struct
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from chassis.errors import PermanentError, RetryableError
from chassis.registry import SchemaRegistryIds
from chassis.serde import (
    DEFAULT_SCHEMAS_DIR,
    AvroSerde,
    SchemaCatalog,
    SerdeError,
    UnknownSchemaError,
)
from events import VISMA_EVENTS
from events.command_topics import COMMAND_TOPICS

pytestmark = pytest.mark.unit

MANIFEST = json.loads((DEFAULT_SCHEMAS_DIR / "manifest.json").read_text())
MANIFEST_IDS = {entry["name"]: entry["id"] for entry in MANIFEST["schemas"]}
AT = datetime(2026, 3, 1, 8, 15, 30, 123000, tzinfo=UTC)

SAMPLES: dict[str, dict[str, Any]] = {
    "io.mlconnector.state.EncryptedCredential": {
        "name": "visma/tenant-se-1",
        "key_id": "9f86d081884c7d65",
        "wrapped_key": b"\x01" * 48,
        "key_nonce": b"\x02" * 12,
        "nonce": b"\x03" * 12,
        "ciphertext": b"\x04" * 31,
        "updated_at": AT,
        "deleted": False,
    },
    "io.mlconnector.visma.VismaNotificationReceived": {
        "notification_id": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "tenant_id": "tenant-se-1",
        "company_id": "tenant-se-1",
        "entity_type": "supplierInvoice",
        "entity_id": "Invoice:000042",
        "event": "Changed",
        "occurred_at": "2026-03-01T08:15:30.123Z",
        "received_at": AT,
    },
    "io.mlconnector.visma.SupplierInvoiceChanged": {
        "event_id": "t1/1234567/supplierInvoice/Bill:000123@2026-03-01T08:15:30.123Z",
        "tenant_id": "t1",
        "company_id": "1234567",
        "entity_type": "supplierInvoice",
        "entity_id": "Bill:000123",
        "change_type": "UPDATED",
        "last_modified": AT,
        "etag": 'W/"42"',
        "observed_at": datetime(2026, 3, 1, 8, 16, tzinfo=UTC),
        "invoice": {
            "document_type": "Bill",
            "reference_number": "000123",
            "status": "Open",
            "approval_status": "PendingApproval",
            "supplier_number": "70001",
            "supplier_name": "Nordisk Kontorsmaterial AB",
            "invoice_date": date(2026, 2, 27),
            "due_date": date(2026, 3, 29),
            "currency": "SEK",
            "amount": Decimal("125000.1234"),
            "vat_amount": Decimal("25000.0247"),
            "balance": Decimal("-0.0001"),
            "po_reference": "PO-2026-0042",
            "supplier_reference": "INV-88812",
            "description": "Kontorsstolar, 12 st",
            "lines": [
                {
                    "line_number": 1,
                    "description": "Kontorsstolar",
                    "amount": Decimal("125000.1234"),
                    "account_number": "5410",
                    "subaccount": "CC100",
                }
            ],
        },
    },
    "io.mlconnector.sink.PostSlackMessage": {
        "command_id": "9f2c" * 16,
        "tenant_id": "t1",
        "workspace": "acme",
        "channel": "#ap-approvals",
        "text": "Invoice 000123 from Nordisk Kontorsmaterial AB: 125 000,12 SEK",
        "blocks_json": '[{"type":"section","text":{"type":"mrkdwn","text":"*000123*"}}]',
        "rule": "large-invoices",
        "source_event_id": "t1/1234567/supplierInvoice/Bill:000123@2026-03-01T08:15:30.123Z",
        "entity_type": "supplierInvoice",
        "entity_id": "Bill:000123",
        "created_at": AT,
        "company_id": "1234567",
        "mention_emails": ["anna.lind@example.se"],
        "thread_ts": None,
        "on_change": "post",
        "approved_by": "U012AB3CD",
    },
    "io.mlconnector.audit.AuditEvent": {
        "audit_id": "0b7e1f9c2d3a4b5c8e9f0a1b2c3d4e5f",
        "at": AT,
        "service": "slack-sink",
        "stage": "sent",
        "entity_id": "Bill:000123",
        "event_id": None,
        "command_id": "9f2c" * 16,
        "external_id": "1772352930.000100",
        "detail": None,
        "correlation_id": "c0ffee",
        "build_version": "0.1.0+g6d073fb8452b",
    },
    "io.mlconnector.state.PollCursor": {
        "source": "visma",
        "tenant_id": "t1",
        "company_id": "1234567",
        "entity_type": "supplierInvoice",
        "since": AT,
        "seen": ["Bill:000123@1772352930123", "Bill:000124@1772352930123"],
        "resume": {
            "since": datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
            "started_at": AT,
            "next_page": 3,
        },
        "updated_at": AT,
    },
    "io.mlconnector.monday.MondayColumnChanged": {
        "tenant_id": "t1",
        "account_id": "9000001",
        "board_id": "1000000001",
        "item_id": "1000000042",
        "column_id": "status_receipt",
        "column_title": "Receipt",
        "column_type": "status",
        "value_text": "Received",
        "previous_text": None,
        "changed_at": AT,
        "source": "webhook",
        "trigger_uuid": "6a1f" * 8,
        "visma_id": "1234567/purchaseOrder/RegularOrder:PO-7",
        "received_at": AT,
    },
    "io.mlconnector.monday.MondayItemLinked": {
        "tenant_id": "t1",
        "board_id": "1000000001",
        "item_id": "1000000042",
        "visma_id": "1234567/purchaseOrder/RegularOrder:PO-7",
        "entity_type": "purchaseOrder",
        "entity_id": "RegularOrder:PO-7",
        "company_id": "1234567",
    },
    "io.mlconnector.state.SinkDelivery": {
        "command_id": "9f2c" * 16,
        "sink": "slack",
        "status": "DONE",
        "destination": "acme/#ap-approvals",
        "external_id": "1772352930.000100",
        "at": AT,
        "channel_id": "C0MLC0001",
        "ts": "1772352930.000100",
        "tenant_id": "t1",
        "company_id": "1234567",
        "entity_type": "supplierInvoice",
        "entity_id": "Bill:000123",
        "rule": "large-invoices",
        "digest": False,
        "not_posted": False,
        "thread_ts": None,
        "approved_by": "U012AB3CD",
    },
    "io.mlconnector.slack.SlackEventReceived": {
        "event_id": "Ev0MLC0001",
        "team_id": "T0MLC",
        "event_type": "reaction_added",
        "user": "U0MLC00001",
        "channel": "C0MLC0001",
        "message_ts": "1772352930.000100",
        "event_ts": "1772352990.000200",
        "reaction": "white_check_mark",
        "text": None,
        "event_time": AT,
        "received_at": AT,
        "retry_num": 1,
    },
    "io.mlconnector.state.TwilioDelivery": {
        "command_id": "9f2c" * 16,
        "channel": "SMS",
        "status": "DONE",
        "to": "+46701234567",
        "at": AT,
        "first_attempt_at": AT,
        "attempts": 1,
        "not_sent": False,
        "external_id": "SM" + "0a" * 16,
        "message_status": "delivered",
        "error_code": None,
        "error_message": None,
        "tenant_id": "t1",
        "entity_type": "supplierInvoice",
        "entity_id": "Invoice:000123",
        "rule": "large-invoices",
    },
    "io.mlconnector.state.MondayDelivery": {
        "command_id": "9f2c" * 16,
        "status": "DONE",
        "tenant_id": "t1",
        "board_id": "1000000001",
        "at": AT,
        "visma_id": "1234567/supplierInvoice/Invoice:000123",
        "item_id": "1000000042",
        "action": "CREATED",
        "first_attempt_at": AT,
        "attempts": 1,
        "entity_type": "supplierInvoice",
        "entity_id": "Invoice:000123",
    },
    "io.mlconnector.state.TwilioMessageState": {
        "message_sid": "SM" + "0a" * 16,
        "account_sid": "AC" + "0b" * 16,
        "status": "delivered",
        "error_code": None,
        "error_message": None,
        "seen": ["delivered", "sent"],
        "at": AT,
    },
    "io.mlconnector.twilio.TwilioMessageStatus": {
        "message_sid": "SM" + "0a" * 16,
        "account_sid": "AC" + "0b" * 16,
        "status": "undelivered",
        "error_code": 30003,
        "error_message": "Unreachable destination handset",
        "to": "+46701234567",
        "from_number": "+46769439999",
        "messaging_service_sid": None,
        "received_at": AT,
    },
    "io.mlconnector.approval.ApprovalSignal": {
        "signal_id": "5e1f" * 16,
        "slack_event_id": "Ev0MLC0001",
        "team_id": "T0MLC",
        "channel_id": "C0MLC0001",
        "message_ts": "1772352930.000100",
        "user": "U0MLC00001",
        "decision": "approve",
        "source": "reaction",
        "gesture": "white_check_mark",
        "tenant_id": "t1",
        "company_id": "1234567",
        "entity_type": "supplierInvoice",
        "entity_id": "Invoice:000123",
        "posted_command_id": "9f2c" * 16,
        "authorised": True,
        "reason": None,
        "event_time": AT,
        "created_at": AT,
    },
    "io.mlconnector.review.VismaWriteConflict": {
        "command_id": "cmd-1",
        "command": "RecordPurchaseReceipt",
        "tenant_id": "tenant-se-1",
        "company_id": "tenant-se-1",
        "entity_type": "purchaseOrder",
        "entity_id": "tenant-se-1/tenant-se-1/purchaseOrder/RegularOrder:PO-2026-90001",
        "document": "purchase order PO-2026-90001",
        "reason": "the order is no longer open",
        "differences": [{"field": "status", "expected": "Open", "found": "Completed"}],
        "etag": "AAAAAAAAG1k=",
        "rule": "monday-receipts",
        "source_event_id": "evt-1",
        "detected_at": AT,
    },
    "io.mlconnector.bill.BillVendorChanged": {
        "tenant_id": "tenant-dk-1",
        "organization_id": "00801ABCDEFGHIJ0001",
        "vendor_id": "00901KLMNOPQRST0042",
        "change": "updated",
        "updated_time": AT,
        "created_time": None,
        "source": "webhook",
        "event_id": "7f6a1c0e-0d3b-4c1e-9b59-4a8e1f0c2d11",
        "archived": False,
        "name": "Nordisk Papir ApS",
        "short_name": None,
        "tax_id": "DK12345678",
        "account_number": None,
        "email": "ap@nordiskpapir.example",
        "phone": None,
        "address": {
            "line1": "Vestergade 1",
            "line2": None,
            "city": "København",
            "state": None,
            "postal_code": "1456",
            "country": "DK",
        },
        "currency": "DKK",
        "received_at": AT,
    },
    "io.mlconnector.bill.BillBillChanged": {
        "tenant_id": "tenant-dk-1",
        "organization_id": "00801ABCDEFGHIJ0001",
        "bill_id": "00n01UVWXYZABCD0007",
        "change": "created",
        "updated_time": AT,
        "created_time": AT,
        "source": "poll",
        "event_id": None,
        "archived": False,
        "vendor_id": "00901KLMNOPQRST0042",
        "vendor_name": "Nordisk Papir ApS",
        "invoice_number": "NP-2026-118",
        "invoice_date": date(2026, 2, 27),
        "due_date": date(2026, 3, 29),
        "amount": Decimal("1250.0000"),
        "due_amount": None,
        "currency": "DKK",
        "payment_status": "UNPAID",
        "approval_status": None,
        "lines": [
            {
                "amount": Decimal("1250.0000"),
                "description": "Copy paper",
                "chart_of_account_id": "0ca01",
                "department_id": "0de01",
            }
        ],
        "received_at": AT,
    },
    "io.mlconnector.bill.BillVendorLinked": {
        "tenant_id": "tenant-dk-1",
        "organization_id": "00801ABCDEFGHIJ0001",
        "vendor_id": "00901KLMNOPQRST0042",
        "supplier_number": "70012",
        "linked_by": "operator@firm.example",
        "linked_at": AT,
    },
    "io.mlconnector.state.BillVendorStanding": {
        "tenant_id": "tenant-dk-1",
        "organization_id": "00801ABCDEFGHIJ0001",
        "vendor_id": "00901KLMNOPQRST0042",
        "vendor": None,
        "supplier_number": None,
        "matched_by": None,
        "tried": ["link: none", "organisation number DK12345678: no supplier"],
        "held": [
            {
                "fact": b"\x00\x00\x00\x02\x59",
                "kind": "unmatched vendor",
                "reason": "vendor not matched to a Visma supplier",
            }
        ],
        "written": [{"bill_id": "00n01UVWXYZABCD0006", "updated_time": AT}],
        "updated_at": AT,
    },
    "io.mlconnector.sink.RecordSupplierPayment": {
        "command_id": "5e1d" * 16,
        "tenant_id": "tenant-se-1",
        "company_id": "tenant-se-1",
        "source_system": "airbase",
        "source_id": "le_0042",
        "source_version": "a3f9" * 8,
        "supplier_number": "50012",
        "invoice_ref_nbr": "000123",
        "document_type": "Invoice",
        "payment_reference": "airbase:le_0042",
        "currency_id": "SEK",
        "amount": Decimal("1250.0000"),
        "payment_date": date(2026, 3, 2),
        "allocations": [
            {
                "amount": Decimal("1250.0000"),
                "account_number": "6110",
                "subaccount": "100-20",
                "description": "Copy paper",
            }
        ],
        "reply_to": "airbase",
        "rule": "airbase-payments",
        "source_event_id": "evt-le-0042",
        "entity_type": "supplierPayment",
        "entity_id": "tenant-se-1/tenant-se-1/supplierPayment/airbase:le_0042",
        "created_at": AT,
    },
    "io.mlconnector.sink.MarkAirbaseEntrySynced": {
        "command_id": "7b2e" * 16,
        "tenant_id": "tenant-se-1",
        "entry_id": "le_0042",
        "visma_payment_number": "000201",
        "company_id": "tenant-se-1",
        "rule": "airbase-payments",
        "source_event_id": "evt-le-0042",
        "entity_type": "supplierPayment",
        "entity_id": "tenant-se-1/tenant-se-1/supplierPayment/airbase:le_0042",
        "created_at": AT,
    },
    "io.mlconnector.airbase.AirbasePaymentReady": {
        "event_id": "tenant-se-1/ab-le-0042@5f1c0e9a7d3b2c4e6a81",
        "tenant_id": "tenant-se-1",
        "company_id": "1234567",
        "entry_id": "ab-le-0042",
        "version": "5f1c0e9a7d3b2c4e6a81",
        "entry_type": "bill_payment",
        "vendor_ref": "70012",
        "vendor_name": "Nordisk Papir AB",
        "bill_id": "ab-bill-0007",
        "bill_ref": "Invoice:000123",
        "invoice_number": "NP-2026-118",
        "currency": "SEK",
        "amount": Decimal("1250.0000"),
        "payment_date": date(2026, 3, 1),
        "lines": [
            {
                "line_number": 1,
                "amount": Decimal("1250.0000"),
                "account_ref": "4010",
                "department_ref": "CC-200",
                "description": "Copy paper",
            }
        ],
        "bank_account_ref": "1930",
        "observed_at": AT,
        "via": "poll",
    },
    "io.mlconnector.state.AirbasePaymentStanding": {
        "tenant_id": "tenant-se-1",
        "entry_id": "ab-le-0042",
        "held": b"\x00\x00\x00\x02\xbc",
        "reason": "payment ab-le-0042 (1250.0000 SEK): line 1: cost center 'CC-300' is not mapped",
        "sent_versions": ["5f1c0e9a7d3b2c4e6a81"],
        "updated_at": AT,
    },
    "io.mlconnector.state.AirbasePolledEntry": {
        "tenant_id": "tenant-se-1",
        "entry_id": "ab-le-0042",
        "version": "5f1c0e9a7d3b2c4e6a81",
        "entry_digest": "0c1d2e3f4a5b6c7d8e9f",
        "bill_ref": "Invoice:000123",
        "published_at": AT,
    },
    "io.mlconnector.airbase.AirbaseWebhookReceived": {
        "event_id": "evt_01HQ7Z3K4M",
        "tenant_id": "tenant-se-1",
        "event_type": "bill_paid",
        "object_type": "ledger_entry",
        "object_id": "ab-le-0042",
        "created_date": "2026-03-01T08:15:30.123Z",
        "signed": True,
        "received_at": AT,
    },
}


@pytest.fixture(scope="module")
def serde() -> AvroSerde:
    return AvroSerde(SchemaCatalog.load())


def test_every_manifest_schema_has_a_sample() -> None:
    # Visma entity events are round-tripped from realistic DTOs in test_mapping.py, and
    # every sink command from generated rules in test_processor_route_all_properties.py.
    elsewhere = {model.SCHEMA for model in VISMA_EVENTS.values()} | {
        model.SCHEMA for model in COMMAND_TOPICS
    }
    assert set(SAMPLES) | (elsewhere - set(SAMPLES)) == set(MANIFEST_IDS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip(serde: AvroSerde, name: str) -> None:
    data = serde.encode(name, SAMPLES[name])

    assert serde.decode(data) == (name, SAMPLES[name])


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_wire_format_header_is_magic_zero_and_the_manifest_id(serde: AvroSerde, name: str) -> None:
    data = serde.encode(name, SAMPLES[name])

    assert data[0] == 0
    assert struct.unpack(">I", data[1:5])[0] == MANIFEST_IDS[name]


def test_decimal_amounts_stay_exact(serde: AvroSerde) -> None:
    name = "io.mlconnector.visma.SupplierInvoiceChanged"
    invoice = SAMPLES[name]["invoice"] | {
        "amount": Decimal("999999999999999.9999"),  # 19 digits, the schema's precision
        "vat_amount": Decimal("0.1000"),
        "balance": None,
    }
    record = SAMPLES[name] | {"invoice": invoice}

    _, decoded = serde.decode(serde.encode(name, record))

    assert decoded["invoice"]["amount"] == Decimal("999999999999999.9999")
    assert str(decoded["invoice"]["amount"]) == "999999999999999.9999"
    assert str(decoded["invoice"]["vat_amount"]) == "0.1000"
    assert decoded["invoice"]["balance"] is None


def test_a_decimal_with_more_places_than_the_schema_scale_is_refused(serde: AvroSerde) -> None:
    name = "io.mlconnector.visma.SupplierInvoiceChanged"
    record = SAMPLES[name] | {"invoice": SAMPLES[name]["invoice"] | {"amount": Decimal("1.23456")}}

    with pytest.raises(SerdeError, match=re.escape("cannot encode io.mlconnector.visma")):
        serde.encode(name, record)


def test_a_record_missing_a_required_field_is_refused(serde: AvroSerde) -> None:
    name = "io.mlconnector.sink.PostSlackMessage"
    record = {k: v for k, v in SAMPLES[name].items() if k != "channel"}

    with pytest.raises(SerdeError, match="cannot encode"):
        serde.encode(name, record)


def test_an_unknown_schema_name_is_refused(serde: AvroSerde) -> None:
    with pytest.raises(SerdeError, match=re.escape("no schema named io.mlconnector.Nope")):
        serde.encode("io.mlconnector.Nope", {})


def test_an_unknown_schema_id_without_a_registry_is_retryable_not_poison(
    serde: AvroSerde,
) -> None:
    """A newer producer rolling out writes ids this consumer does not know yet."""
    body = serde.encode(
        "io.mlconnector.audit.AuditEvent", SAMPLES["io.mlconnector.audit.AuditEvent"]
    )
    data = struct.pack(">bI", 0, 999_999) + body[5:]

    with pytest.raises(RetryableError, match="unknown schema id 999999") as raised:
        serde.decode(data)
    assert not isinstance(raised.value, PermanentError)


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x00\x00"])
def test_a_value_shorter_than_the_header_is_refused(serde: AvroSerde, data: bytes) -> None:
    with pytest.raises(SerdeError, match=f"value of {len(data)} bytes is too short"):
        serde.decode(data)


def test_a_bad_magic_byte_is_refused(serde: AvroSerde) -> None:
    good = serde.encode(
        "io.mlconnector.audit.AuditEvent", SAMPLES["io.mlconnector.audit.AuditEvent"]
    )

    with pytest.raises(SerdeError, match="unknown magic byte 1"):
        serde.decode(b"\x01" + good[1:])


def test_a_truncated_body_is_refused(serde: AvroSerde) -> None:
    good = serde.encode(
        "io.mlconnector.sink.PostSlackMessage", SAMPLES["io.mlconnector.sink.PostSlackMessage"]
    )

    with pytest.raises(SerdeError, match="cannot decode schema id 2"):
        serde.decode(good[:20])


def test_a_manifest_entry_naming_the_wrong_schema_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.avsc").write_text(
        json.dumps({"type": "record", "name": "A", "namespace": "x", "fields": []})
    )
    (tmp_path / "manifest.json").write_text(
        json.dumps({"schemas": [{"id": 1, "name": "x.B", "version": 1, "file": "a.avsc"}]})
    )

    with pytest.raises(SerdeError, match=re.escape("declares x.A, manifest says x.B")):
        SchemaCatalog.load(tmp_path)


class FakeRegistry:
    """Assigns ids like a Schema Registry: a new (subject, schema) gets the next id."""

    def __init__(self, first_id: int = 100, refuse: str | None = None) -> None:
        self.next_id = first_id
        self.refuse = refuse
        self.ids: dict[tuple[str, str], int] = {}
        self.requests: list[tuple[str, str, str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        subject = request.url.path.removeprefix("/subjects/").removesuffix("/versions")
        self.requests.append((request.method, request.url.path, request.headers["content-type"]))
        if subject == self.refuse:
            return httpx.Response(409, json={"error_code": 409, "message": "incompatible"})
        schema = json.loads(request.content)["schema"]
        key = (subject, schema)
        if key not in self.ids:
            self.ids[key] = self.next_id
            self.next_id += 1
        return httpx.Response(200, json={"id": self.ids[key]})

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url="http://registry.test", transport=httpx.MockTransport(self.handle)
        )


def test_a_registry_backed_catalog_writes_the_registry_ids() -> None:
    registry = FakeRegistry(first_id=100)
    with registry.client() as http:
        serde = AvroSerde(SchemaCatalog.load(ids=SchemaRegistryIds(http)))

    # Every version is registered (older ones first), and writers use the newest one's id.
    assigned = {subject: schema_id for (subject, _), schema_id in registry.ids.items()}
    assert sorted(assigned) == sorted(MANIFEST_IDS)
    assert sorted(registry.ids.values()) == list(range(100, 100 + len(MANIFEST["schemas"])))
    assert all(method == "POST" for method, _, _ in registry.requests)
    assert {ct for _, _, ct in registry.requests} == {"application/vnd.schemaregistry.v1+json"}
    for name, record in SAMPLES.items():
        data = serde.encode(name, record)
        assert struct.unpack(">bI", data[:5]) == (0, assigned[name])
        assert serde.decode(data) == (name, record)
    manifest_id = struct.pack(">bI", 0, MANIFEST_IDS["io.mlconnector.audit.AuditEvent"])
    with pytest.raises(UnknownSchemaError, match="unknown schema id"):
        serde.decode(manifest_id + b"\x00")


def test_loading_twice_against_a_registry_gets_the_same_ids() -> None:
    registry = FakeRegistry(first_id=7)
    with registry.client() as http:
        first = SchemaCatalog.load(ids=SchemaRegistryIds(http))
        second = SchemaCatalog.load(ids=SchemaRegistryIds(http))

    assert {s.name: s.schema_id for s in first.all()} == {s.name: s.schema_id for s in second.all()}
    assert len(registry.requests) == 2 * len(MANIFEST["schemas"])


def test_a_registry_refusal_is_a_serde_error() -> None:
    registry = FakeRegistry(refuse="io.mlconnector.sink.PostSlackMessage")
    with (
        registry.client() as http,
        pytest.raises(
            SerdeError, match=r"refused io.mlconnector.sink.PostSlackMessage v1: HTTP 409"
        ),
    ):
        SchemaCatalog.load(ids=SchemaRegistryIds(http))
