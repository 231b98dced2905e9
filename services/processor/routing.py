"""Turns one Visma change into the commands its rules ask for: one per target (and recipient).

Plain functions with no Kafka in sight, so every routing decision is unit-testable. Output
is deterministic: the same event, rules, enrichment and day always give the same commands
with the same ids and timestamps, which is what lets each sink's ledger drop a redelivered
command. A template that fails to render never costs a command: the default message is
sent instead, and the failure is logged naming the rule.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict

from events import PostSlackMessage, VismaEntityChanged
from events.commands import (
    ApplyVismaAction,
    Command,
    CreateMondayItem,
    SendEmail,
    SendSms,
    SyncToAirbase,
)
from processor.matchers import matches
from processor.rules import Rule, RuleSet
from processor.rules_facts import REFERENCE_FIELDS, Facts, facts_of, first_of
from processor.rules_schema import (
    AirbaseTarget,
    EmailTarget,
    MondayTarget,
    SlackTarget,
    SmsTarget,
    Target,
    VismaWriterTarget,
)
from processor.templates import TemplateError, context, money, render

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = (
    "New supplier invoice from {vendor}: {amount}, invoice {invoice_number}, "
    "PO {po_reference}, due {due_date}"
)
GENERIC_TEMPLATE = "{label} {invoice_number} {change}: {vendor}, {amount}, due {due_date}"


def route(
    event: VismaEntityChanged,
    rules: RuleSet,
    *,
    enrichment: Mapping[str, str] | None = None,
    today: date | None = None,
) -> list[PostSlackMessage]:
    """The Slack commands only (what the Slack-only processor sends), in rule order."""
    commands = route_all(event, rules, enrichment=enrichment, today=today)
    return [command for command in commands if isinstance(command, PostSlackMessage)]


def route_all(
    event: VismaEntityChanged,
    rules: RuleSet,
    *,
    enrichment: Mapping[str, str] | None = None,
    today: date | None = None,
) -> list[Command]:
    """Every command of every matching rule: rules in file order, then targets in order."""
    facts = facts_of(event, enrichment=enrichment, today=today)
    commands: list[Command] = []
    for rule in rules.rules:
        if matches(rule.when, facts):
            commands.extend(commands_for(facts, rule))
    return commands


def command_id(event_id: str, rule_name: str, target: str) -> str:
    """Stable id: a repeated source event can never produce a different command."""
    return hashlib.sha256(f"{event_id}|{rule_name}|{target}".encode()).hexdigest()


def commands_for(facts: Facts, rule: Rule) -> list[Command]:
    if rule.slack is not None:
        return [_legacy_slack(facts, rule, rule.slack)]
    return [command for target in rule.targets for command in _target_commands(facts, rule, target)]


class Provenance(TypedDict):
    """The fields every command carries about where it came from."""

    command_id: str
    tenant_id: str
    rule: str
    source_event_id: str
    entity_type: str
    entity_id: str
    created_at: datetime


def _provenance(facts: Facts, rule: Rule, key: str) -> Provenance:
    event = facts.event
    return Provenance(
        command_id=command_id(event.event_id, rule.name, key),
        tenant_id=event.tenant_id,
        rule=rule.name,
        source_event_id=event.event_id,
        entity_type=event.entity_type,
        entity_id=event.key,
        created_at=_to_millis(event.observed_at),
    )


def _legacy_slack(facts: Facts, rule: Rule, slack: SlackTarget) -> PostSlackMessage:
    fields = message_fields(facts, rule.name)
    return PostSlackMessage(
        **_provenance(facts, rule, slack.key),
        workspace=slack.workspace,
        channel=slack.channel,
        text=(rule.template or default_template(facts)).format_map(fields),
        blocks_json=blocks_json(fields),
    )


@dataclass(frozen=True)
class _Draft:
    """One target's message, ready to be shaped into that target's command."""

    facts: Facts
    rule: Rule
    target: Target
    fields: dict[str, str]
    body: str

    def provenance(self, key: str | None = None) -> Provenance:
        return _provenance(self.facts, self.rule, key or self.target.spec.target_keys()[0])

    @property
    def title(self) -> str:
        f = self.fields
        return f"{f['label']} {f['invoice_number']}: {f['amount']}"


def _slack(d: _Draft, spec: SlackTarget) -> list[Command]:
    blocks = blocks_json(d.fields) if d.target.template is None else None
    return [PostSlackMessage(**d.provenance(), workspace=spec.workspace, channel=spec.channel,
                             text=d.body, blocks_json=blocks)]  # fmt: skip


def _sms(d: _Draft, spec: SmsTarget) -> list[Command]:
    return [
        SendSms(**d.provenance(key), to=number, body=d.body)
        for number, key in zip(spec.to, spec.target_keys(), strict=True)
    ]


def _email(d: _Draft, spec: EmailTarget) -> list[Command]:
    subject = _body(d.facts, d.rule, spec.subject, d.title)
    return [SendEmail(**d.provenance(), to=list(spec.to), subject=subject, body=d.body)]


def _monday(d: _Draft, spec: MondayTarget) -> list[Command]:
    return [CreateMondayItem(**d.provenance(), board_id=spec.board, group_id=spec.group,
                             item_name=d.title, body=d.body)]  # fmt: skip


def _airbase(d: _Draft, spec: AirbaseTarget) -> list[Command]:
    return [SyncToAirbase(**d.provenance(), note=d.body, payload_json=payload_json(d.facts))]


def _visma_writer(d: _Draft, spec: VismaWriterTarget) -> list[Command]:
    return [ApplyVismaAction(**d.provenance(), company_id=d.facts.event.company_id,
                             action=spec.action, comment=d.body)]  # fmt: skip


_BUILDERS: dict[str, Callable[[_Draft, Any], list[Command]]] = {
    "slack": _slack,
    "sms": _sms,
    "email": _email,
    "monday": _monday,
    "airbase": _airbase,
    "visma_writer": _visma_writer,
}


def _target_commands(facts: Facts, rule: Rule, target: Target) -> list[Command]:
    fields = message_fields(facts, rule.name)
    body = _body(facts, rule, target.template, default_template(facts).format_map(fields))
    draft = _Draft(facts=facts, rule=rule, target=target, fields=fields, body=body)
    return _BUILDERS[target.kind](draft, target.spec)


def _body(facts: Facts, rule: Rule, template: str | None, default: str) -> str:
    """The rendered template, or the default message when there is none or it fails."""
    if template is None:
        return default
    try:
        return render(template, context(facts, rule=rule.name), rule=rule.name)
    except TemplateError as exc:
        log.warning(
            "template failed, sending the default message",
            extra={"rule": rule.name, "event_id": facts.event.event_id, "error": str(exc)},
        )
        return default


def default_template(facts: Facts) -> str:
    return DEFAULT_TEMPLATE if facts.entity_type == "supplierInvoice" else GENERIC_TEMPLATE


def format_amount(currency: str, amount: Decimal) -> str:
    """`SEK 125,000.00`: the way AP teams read amounts, rounded half up like an invoice."""
    return money(amount, currency)


def _to_millis(instant: datetime) -> datetime:
    """Kafka carries timestamp-millis: truncating here makes the command equal its decoding."""
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def entity_label(entity_type: str) -> str:
    """`supplierInvoice` -> `Supplier invoice`."""
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in entity_type).strip()
    return words[:1].upper() + words[1:]


def message_fields(facts: Facts, rule_name: str) -> dict[str, str]:
    """The values a v1 template may use; missing optional data reads as a word, not `None`."""
    payload, event = facts.payload, facts.event
    due = facts.due_date
    return {
        "vendor": facts.party or facts.supplier or "unknown supplier",
        "amount": money(facts.amount, str(payload.get("currency") or "")),
        "currency": str(payload.get("currency") or ""),
        "invoice_number": str(first_of(payload, REFERENCE_FIELDS) or event.entity_id),
        "po_reference": str(payload.get("po_reference") or "none"),
        "due_date": due.isoformat() if due else "not set",
        "status": str(payload.get("status") or "unknown"),
        "description": str(payload.get("description") or ""),
        "company_id": event.company_id,
        "entity_id": event.entity_id,
        "rule": rule_name,
        "label": entity_label(event.entity_type),
        "change": str(event.change_type).lower(),
    }


def payload_json(facts: Facts) -> str:
    """The entity record as JSON: Decimals as exact strings, dates as ISO text."""
    return json.dumps(dict(facts.payload), default=_jsonable, ensure_ascii=False, sort_keys=True)


def _jsonable(value: object) -> object:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def blocks_json(fields: dict[str, str]) -> str:
    """A Block Kit section with the entity's key facts as mrkdwn fields."""
    facts = [
        ("Vendor", fields["vendor"]),
        ("Amount", fields["amount"]),
        ("Invoice", fields["invoice_number"]),
        ("PO reference", fields["po_reference"]),
        ("Due date", fields["due_date"]),
        ("Status", fields["status"]),
    ]
    title = f"{fields['label']} {fields['invoice_number']}"
    header = f"*{_escape(title)}* ({_escape(fields['rule'])})"
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
