"""Turns one supplier invoice change into the Slack commands its rules ask for.

Plain functions with no Kafka in sight, so every routing decision is unit-testable. Output
is deterministic: the same event and rules always give the same commands with the same ids
and timestamps, which is what lets the Slack sink's ledger drop a redelivered command.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from events import PostSlackMessage, SupplierInvoiceChanged
from processor.rules import Rule, RuleSet

CENTS = Decimal("0.01")
DEFAULT_TEMPLATE = (
    "New supplier invoice from {vendor}: {amount}, invoice {invoice_number}, "
    "PO {po_reference}, due {due_date}"
)


def route(event: SupplierInvoiceChanged, rules: RuleSet) -> list[PostSlackMessage]:
    """One command per matching rule, in the order the rules are written."""
    return [command_for(event, rule) for rule in rules.rules if matches(rule, event)]


def matches(rule: Rule, event: SupplierInvoiceChanged) -> bool:
    when = rule.when
    if event.entity_type != when.entity_type or event.change_type not in when.change_types:
        return False
    if when.min_amount is None:
        return True
    threshold = when.min_amount.get(event.invoice.currency.upper())
    return threshold is not None and event.invoice.amount >= threshold


def command_id(event_id: str, rule_name: str, target: str) -> str:
    """Stable id: a repeated source event can never produce a different command."""
    return hashlib.sha256(f"{event_id}|{rule_name}|{target}".encode()).hexdigest()


def command_for(event: SupplierInvoiceChanged, rule: Rule) -> PostSlackMessage:
    fields = message_fields(event, rule)
    return PostSlackMessage(
        command_id=command_id(event.event_id, rule.name, rule.slack.key),
        tenant_id=event.tenant_id,
        workspace=rule.slack.workspace,
        channel=rule.slack.channel,
        text=(rule.template or DEFAULT_TEMPLATE).format_map(fields),
        blocks_json=blocks_json(fields),
        rule=rule.name,
        source_event_id=event.event_id,
        entity_type=event.entity_type,
        entity_id=event.key,
        created_at=_to_millis(event.observed_at),
    )


def format_amount(currency: str, amount: Decimal) -> str:
    """`SEK 125,000.00`: the way AP teams read amounts, rounded half up like an invoice."""
    return f"{currency} {amount.quantize(CENTS, rounding=ROUND_HALF_UP):,.2f}"


def _to_millis(instant: datetime) -> datetime:
    """Kafka carries timestamp-millis: truncating here makes the command equal its decoding."""
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def message_fields(event: SupplierInvoiceChanged, rule: Rule) -> dict[str, str]:
    """The values a template may use; missing optional data reads as a word, not `None`."""
    invoice = event.invoice
    return {
        "vendor": invoice.supplier_name or invoice.supplier_number or "unknown supplier",
        "amount": format_amount(invoice.currency, invoice.amount),
        "currency": invoice.currency,
        "invoice_number": invoice.reference_number,
        "po_reference": invoice.po_reference or "none",
        "due_date": invoice.due_date.isoformat() if invoice.due_date else "not set",
        "status": invoice.status or "unknown",
        "description": invoice.description or "",
        "company_id": event.company_id,
        "entity_id": event.entity_id,
        "rule": rule.name,
    }


def blocks_json(fields: dict[str, str]) -> str:
    """A Block Kit section with the invoice's key facts as mrkdwn fields."""
    facts = [
        ("Vendor", fields["vendor"]),
        ("Amount", fields["amount"]),
        ("Invoice", fields["invoice_number"]),
        ("PO reference", fields["po_reference"]),
        ("Due date", fields["due_date"]),
        ("Status", fields["status"]),
    ]
    header = f"*Supplier invoice {_escape(fields['invoice_number'])}* ({_escape(fields['rule'])})"
    section = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": header},
        "fields": [
            {"type": "mrkdwn", "text": f"*{label}*\n{_escape(value)}"} for label, value in facts
        ],
    }
    return json.dumps([section], ensure_ascii=False)


def _escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters; a vendor name must not."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
