"""The demo's Twilio rules: seed 001's example appended to the demo's rules file, valid, with
the day's payments email due when the run asks for it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from events import ChangeType, SupplierInvoice, SupplierInvoiceChanged
from events.commands import SendSms
from mlc.demo_twilio import AP_MANAGER, FINANCE, SUPERVISOR, rules_with_twilio
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
