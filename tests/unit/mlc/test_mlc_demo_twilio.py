"""The demo's Twilio rules: seed 001's example appended to the demo's rules file, valid, with
the day's payments email due when the run asks for it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from events import ChangeType, SupplierInvoice, SupplierInvoiceChanged
from events.commands import SendSms
from events.twilio_deliveries import TwilioChannel, TwilioDelivery, TwilioDeliveryStatus
from events.twilio_status import TwilioMessageStatus
from mlc.demo_twilio import (
    AP_MANAGER,
    FINANCE,
    SUPERVISOR,
    UNREACHABLE,
    TwilioOutcome,
    _reasons,
    rules_with_twilio,
)
from mlc.stack import DEFAULT_RULES
from processor.routing import route_all
from processor.rules import load_rules

pytestmark = pytest.mark.unit


def invoice(currency: str, amount: str) -> SupplierInvoiceChanged:
    at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    return SupplierInvoiceChanged(
        event_id=f"e-{currency}-{amount}", tenant_id="tenant-se-1", company_id="tenant-se-1",
        entity_id="Invoice:100001", change_type=ChangeType.CREATED, last_modified=at,
        observed_at=at, invoice=SupplierInvoice(document_type="Invoice",
        reference_number="100001", currency=currency, amount=Decimal(amount),
        supplier_name="Volvo Delar AB", due_date=date(2026, 12, 31)),
    )  # fmt: skip


def test_the_demo_rules_add_seed_001s_sms_and_payments_email(tmp_path: Path) -> None:
    path = rules_with_twilio(DEFAULT_RULES, tmp_path / "rules.yaml",
                             digest_at=datetime(2026, 12, 2, 21, 14, 5, tzinfo=UTC))  # fmt: skip
    rules = load_rules(path)
    base = load_rules(DEFAULT_RULES)
    assert [r.name for r in rules.rules] == [
        *(r.name for r in base.rules),
        "large-invoices-sms",
        "daily-payments-email",
    ]
    [email] = rules.rules[-1].targets
    assert email.digest is not None
    assert email.digest.daily_at == time(21, 14, 5)
    assert email.spec.target_keys() == [f"email:{FINANCE}"]
    sms = [c for c in route_all(invoice("SEK", "50000"), rules) if isinstance(c, SendSms)]
    assert [c.to for c in sms] == [AP_MANAGER, SUPERVISOR]
    assert sms[0].body.startswith("Supplier invoice Invoice:100001 created: Volvo Delar AB")
    below = route_all(invoice("SEK", "49999.99"), rules) + route_all(invoice("NOK", "90000"), rules)
    assert not [c for c in below if isinstance(c, SendSms)]


def _entry(command_id: str, status: TwilioDeliveryStatus, sid: str | None) -> TwilioDelivery:
    return TwilioDelivery(
        command_id=command_id, channel=TwilioChannel.SMS, status=status, to=SUPERVISOR,
        at=datetime(2026, 12, 2, tzinfo=UTC), external_id=sid,
        error_code=21211 if status is TwilioDeliveryStatus.FAILED else None,
        error_message="Invalid 'To' Phone Number" if sid is None else None,
    )  # fmt: skip


def _callback(sid: str, status: str, code: int | None = None) -> TwilioMessageStatus:
    return TwilioMessageStatus(message_sid=sid, account_sid="AC1", status=status, error_code=code,
                               received_at=datetime(2026, 12, 2, tzinfo=UTC))  # fmt: skip


def test_final_statuses_come_from_callbacks_or_refusals_and_failures_name_their_error() -> None:
    outcome = TwilioOutcome(
        ledger={
            "a": _entry("a", TwilioDeliveryStatus.DONE, "SM1"),
            "b": _entry("b", TwilioDeliveryStatus.DONE, "SM2"),
            "c": _entry("c", TwilioDeliveryStatus.DONE, "SM3"),
            "d": _entry("d", TwilioDeliveryStatus.FAILED, None),
            "e": _entry("e", TwilioDeliveryStatus.PENDING, None),
        },
        statuses={
            "SM1": _callback("SM1", "delivered"),
            "SM2": _callback("SM2", "sent"),
            "SM3": _callback("SM3", "undelivered", UNREACHABLE),
        },
        emails=[],
    )
    finals = {cid: outcome.final(cid) for cid in "abcdef"}
    assert finals == {"a": "delivered", "b": None, "c": "undelivered", "d": "failed", "e": None,
                      "f": None}  # fmt: skip
    sms = SendSms(command_id="c", tenant_id="t", rule="r", source_event_id="s",
                  entity_type="supplierInvoice", entity_id="k", to=SUPERVISOR, body="b",
                  created_at=datetime(2026, 12, 2, tzinfo=UTC))  # fmt: skip
    refused = sms.model_copy(update={"command_id": "d"})
    assert _reasons([sms, sms, refused], outcome) == [
        f"{SUPERVISOR:25}  1 x failed, error 21211 Invalid 'To' Phone Number",
        f"{SUPERVISOR:25}  2 x undelivered, error 30003",
    ]
