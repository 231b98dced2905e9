"""An audit trail as the services write it: one record per state transition, with the ids
each service really puts in entity_id, event_id, command_id and external_id (see the
`Stage.*` calls in services/*), for the lineage tests.

Chain A: a Visma supplier invoice (number 000123) read by the poller (its entity id, not the
key), routed to Slack, Twilio and monday, sent there, and Twilio's status callback. Chain B:
invoice 000124 routed to Airbase. Chain C: a BILL bill written to Visma as invoice 000777.
Chain D: an Airbase payment written to Visma as supplier payment 000555.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chassis.audit import AUDIT_SCHEMA
from chassis.serde import AvroSerde

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
KEY_A = "t1/c1/supplierInvoice/Invoice:000123"
KEY_B = "t1/c1/supplierInvoice/Invoice:000124"
EVENT_A = "t1/c1/supplierInvoice/Invoice:000123@1772352000000"
EVENT_B = "t1/c1/supplierInvoice/Invoice:000124@1772352000000"
SLACK_TS = "1772352930.000100"
TWILIO_SID = "SM0123456789abcdef0123456789abcdef"
MONDAY_ITEM = "9876543210"
AIRBASE_ID = "bill_5f1c2e"
BILL_ID = "00n01ABCDEFGHIJ"
BILL_EVENT = f"org-1/{BILL_ID}@3"
VISMA_WRITTEN_INVOICE = "000777"
AIRBASE_ENTRY = "e-42"
VISMA_PAYMENT = "000555"


def record(seq: int, service: str, stage: str, entity: str, **ids: str | None) -> dict[str, Any]:
    return {
        "audit_id": f"audit-{seq:04d}",
        "at": START + timedelta(milliseconds=10 * seq),
        "service": service,
        "stage": stage,
        "entity_id": entity,
        "event_id": ids.get("event_id"),
        "command_id": ids.get("command_id"),
        "external_id": ids.get("external_id"),
        "detail": ids.get("detail"),
        "correlation_id": None,
        "build_version": "0.1.0+gtest",
    }


def trail() -> list[dict[str, Any]]:
    steps: list[tuple[str, str, str, dict[str, str | None]]] = [
        ("visma-poller", "read", "Invoice:000123", {"event_id": EVENT_A, "detail": "CREATED"}),
        ("visma-poller", "read", "Invoice:000124", {"event_id": EVENT_B, "detail": "CREATED"}),
        ("processor", "routed", KEY_A, {"event_id": EVENT_A, "command_id": "cmd-slack-a"}),
        ("processor", "routed", KEY_A, {"event_id": EVENT_A, "command_id": "cmd-sms-a"}),
        ("processor", "routed", KEY_A, {"event_id": EVENT_A, "command_id": "cmd-monday-a"}),
        ("processor", "routed", KEY_B, {"event_id": EVENT_B, "command_id": "cmd-airbase-b"}),
        ("slack-sink", "sent", KEY_A,
         {"event_id": EVENT_A, "command_id": "cmd-slack-a", "external_id": SLACK_TS}),
        ("twilio-sink", "sent", KEY_A,
         {"event_id": EVENT_A, "command_id": "cmd-sms-a", "external_id": TWILIO_SID}),
        ("monday-sink", "sent", KEY_A,
         {"event_id": EVENT_A, "command_id": "cmd-monday-a", "external_id": MONDAY_ITEM}),
        ("airbase-sink", "sent", KEY_B,
         {"event_id": EVENT_B, "command_id": "cmd-airbase-b", "external_id": AIRBASE_ID}),
        ("twilio-sink", "sent", KEY_A,  # the status callback: no event id
         {"command_id": "cmd-sms-a", "external_id": TWILIO_SID, "detail": "delivered"}),
        ("bill-poller", "read", f"org-1/{BILL_ID}", {"event_id": BILL_EVENT}),
        ("bill-mapping", "routed", "t1/c1/supplierInvoice/bill:" + BILL_ID,
         {"event_id": BILL_EVENT, "command_id": "cmd-bill"}),
        ("visma-writer", "sent", "t1/c1/supplierInvoice/bill:" + BILL_ID,
         {"event_id": BILL_EVENT, "command_id": "cmd-bill",
          "external_id": VISMA_WRITTEN_INVOICE}),
        ("airbase-poller", "read", f"t1/{AIRBASE_ENTRY}", {"event_id": "airbase-e-42-v1"}),
        ("airbase-payments", "routed", f"t1/c1/supplierPayment/airbase:{AIRBASE_ENTRY}",
         {"event_id": "airbase-e-42-v1", "command_id": "cmd-pay"}),
        ("visma-writer", "sent", f"t1/c1/supplierPayment/airbase:{AIRBASE_ENTRY}",
         {"event_id": "airbase-e-42-v1", "command_id": "cmd-pay", "external_id": VISMA_PAYMENT}),
    ]  # fmt: skip
    return [
        record(seq, service, stage, entity, **ids)
        for seq, (service, stage, entity, ids) in enumerate(steps)
    ]


def encoded(serde: AvroSerde, records: list[dict[str, Any]]) -> list[bytes]:
    return [serde.encode(AUDIT_SCHEMA, r) for r in records]
