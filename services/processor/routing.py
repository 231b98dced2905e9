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
from urllib.parse import quote

from events import PostSlackMessage, VismaEntityChanged
from events.commands import (
    ApplyVismaAction,
    Command,
    CreateMondayItem,
    SendEmail,
    SendSms,
    SyncToAirbase,
)
from events.visma_entities import REFERENCE_FIELDS
from processor.email_message import Card, alert_email
from processor.item_fields import item_fields
from processor.matchers import matches
from processor.rules import Rule, RuleSet
from processor.rules_facts import Facts, facts_of, first_of
from processor.rules_schema import (
    AirbaseTarget,
    EmailTarget,
    MondayTarget,
    SlackTarget,
    SmsTarget,
    Target,
    VismaWriterTarget,
)
from processor.sms_segments import fit
from processor.templates import TemplateError, change_summary, context, money, render

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = (
    "New supplier invoice from {vendor}: {amount}, invoice {invoice_number}, "
    "PO {po_reference}, due {due_date}"
)
GENERIC_TEMPLATE = "{label} {invoice_number} {change}: {vendor}, {amount}, due {due_date}"
ALERT_TEMPLATE = "{label} {entity_id} {summary}"
"""An SMS or email alert without a template: event type, entity id and a summary of the change
(`Supplier invoice Invoice:10042 created: Acme AB, SEK 125,000.00, due 2026-03-31`)."""
ALERT_KINDS = frozenset({"sms", "email"})


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
    link = record_url(rules.record_links, facts)
    commands: list[Command] = []
    for rule in rules_for(rules, facts.entity_type):
        if matches(rule.when, facts):
            commands.extend(commands_for(facts, rule, record_url=link))
    return commands


_INDEX: list[tuple[RuleSet, dict[str, list[Rule]]]] = []
"""The rules of the rule set in force, by entity type (one entry: a reload replaces it)."""


def rules_for(rules: RuleSet, entity_type: str) -> list[Rule]:
    """The rules that can match this entity type, in file order: an event of one entity is
    never judged by the rules written for the others."""
    if not _INDEX or _INDEX[0][0] is not rules:
        index: dict[str, list[Rule]] = {}
        for rule in rules.rules:
            for name in sorted(rule.when.entity_types):
                index.setdefault(name, []).append(rule)
        _INDEX[:] = [(rules, index)]
    return _INDEX[0][1].get(entity_type, [])


def command_id(event_id: str, rule_name: str, target: str) -> str:
    """Stable id: a repeated source event can never produce a different command."""
    return hashlib.sha256(f"{event_id}|{rule_name}|{target}".encode()).hexdigest()


def commands_for(facts: Facts, rule: Rule, *, record_url: str | None = None) -> list[Command]:
    if rule.slack is not None:
        return [_legacy_slack(facts, rule, rule.slack, record_url)]
    return [
        command
        for target in rule.targets
        if target.digest is None  # a digest target's matches wait for the daily digest
        for command in _target_commands(facts, rule, target, record_url)
    ]


def record_url(templates: Mapping[str, str], facts: Facts) -> str | None:
    """The link back to the record: the template of its `tenant/company`, its tenant, or `*`.

    Templates are `str.format` over the message fields (company_id, entity_id,
    invoice_number, ...) plus tenant_id and entity_type, each URL-quoted.
    """
    event = facts.event
    template = (
        templates.get(f"{event.tenant_id}/{event.company_id}")
        or templates.get(event.tenant_id)
        or templates.get("*")
    )
    if template is None:
        return None
    fields = message_fields(facts, "") | {
        "tenant_id": event.tenant_id,
        "entity_type": event.entity_type,
    }
    try:
        return template.format_map({k: quote(v, safe="") for k, v in fields.items()})
    except (KeyError, ValueError, IndexError) as exc:
        log.warning("record link template failed", extra={"error": str(exc)})
        return None


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


def _legacy_slack(
    facts: Facts, rule: Rule, slack: SlackTarget, record_url: str | None
) -> PostSlackMessage:
    fields = message_fields(facts, rule.name)
    return PostSlackMessage(
        **_provenance(facts, rule, slack.key),
        workspace=slack.workspace,
        channel=slack.channel,
        text=(rule.template or default_template(facts)).format_map(fields),
        blocks_json=blocks_json(fields, record_url=record_url),
        company_id=facts.event.company_id,
        mention_emails=list(slack.mention),
        on_change=slack.on_change,
    )


@dataclass(frozen=True)
class _Draft:
    """One target's message, ready to be shaped into that target's command."""

    facts: Facts
    rule: Rule
    target: Target
    fields: dict[str, str]
    body: str
    record_url: str | None = None

    def provenance(self, key: str | None = None) -> Provenance:
        return _provenance(self.facts, self.rule, key or self.target.spec.target_keys()[0])

    @property
    def title(self) -> str:
        f = self.fields
        return f"{f['label']} {f['invoice_number']}: {f['amount']}"


def _slack(d: _Draft, spec: SlackTarget) -> list[Command]:
    blocks = blocks_json(d.fields, record_url=d.record_url) if d.target.template is None else None
    return [PostSlackMessage(**d.provenance(), workspace=spec.workspace, channel=spec.channel,
                             text=d.body, blocks_json=blocks, company_id=d.facts.event.company_id,
                             mention_emails=list(spec.mention),
                             on_change=spec.on_change)]  # fmt: skip


def _sms(d: _Draft, spec: SmsTarget) -> list[Command]:
    body = fit(d.body, spec.max_segments)
    return [
        SendSms(**d.provenance(key), to=number, body=body)
        for number, key in zip(spec.to, spec.target_keys(), strict=True)
    ]


def _email(d: _Draft, spec: EmailTarget) -> list[Command]:
    subject = _body(d.facts, d.rule, spec.subject, d.title)
    f = d.fields
    title = f"{f['label']} {f['invoice_number']}"
    link = None if d.record_url is None else (d.record_url, f"Open {title} in Visma.net")
    card = Card(title=title, note=d.rule.name, text=d.body, facts=fact_rows(f), link=link)
    parts = alert_email(card)
    return [SendEmail(**d.provenance(), to=list(spec.to), subject=subject, body=parts.text,
                      html=parts.html)]  # fmt: skip


def _monday(d: _Draft, spec: MondayTarget) -> list[Command]:
    """An upsert of the record's item: its identity and its fields for the column mapping."""
    fields = item_fields(d.facts, label=d.fields["label"], record_url=d.record_url)
    return [CreateMondayItem(**d.provenance(), board_id=spec.board, group_id=spec.group,
                             item_name=d.title, body=d.body, visma_id=fields["visma_id"],
                             fields=fields)]  # fmt: skip


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


def _target_commands(
    facts: Facts, rule: Rule, target: Target, record_url: str | None = None
) -> list[Command]:
    fields = message_fields(facts, rule.name)
    body = _body(facts, rule, target.template, default_body(facts, target).format_map(fields))
    draft = _Draft(facts=facts, rule=rule, target=target, fields=fields, body=body,
                   record_url=record_url)  # fmt: skip
    return _BUILDERS[target.kind](draft, target.spec)


def target_message(facts: Facts, rule: Rule, target: Target) -> tuple[dict[str, str], str]:
    """The message fields and the body one target would send for these facts."""
    fields = message_fields(facts, rule.name)
    default = default_body(facts, target).format_map(fields)
    return fields, _body(facts, rule, target.template, default)


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


def default_body(facts: Facts, target: Target) -> str:
    """A target's message when it has no template (or its template fails): an SMS or email
    says what kind of record changed, which one and how; the others keep their wording."""
    return ALERT_TEMPLATE if target.kind in ALERT_KINDS else default_template(facts)


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
    return {**_event_fields(facts), "rule": rule_name}


_LAST_FIELDS: list[tuple[Facts, dict[str, str]]] = []
"""The fields of the event being routed: each of its targets asks for them again."""


def _event_fields(facts: Facts) -> dict[str, str]:
    if _LAST_FIELDS and _LAST_FIELDS[0][0] is facts:
        return _LAST_FIELDS[0][1]
    payload, event = facts.payload, facts.event
    due = facts.due_date
    fields = {
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
        "label": entity_label(event.entity_type),
        "change": str(event.change_type).lower(),
        "summary": change_summary(facts),
    }
    _LAST_FIELDS[:] = [(facts, fields)]
    return fields


def payload_json(facts: Facts) -> str:
    """The entity record as JSON: Decimals as exact strings, dates as ISO text."""
    return json.dumps(dict(facts.payload), default=_jsonable, ensure_ascii=False, sort_keys=True)


def _jsonable(value: object) -> object:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def fact_rows(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """The key facts of an entity as (label, value): Block Kit fields, an email's table."""
    facts = [
        ("Vendor", fields["vendor"]),
        ("Amount", fields["amount"]),
        ("Invoice", fields["invoice_number"]),
        ("PO reference", fields["po_reference"]),
        ("Due date", fields["due_date"]),
        ("Status", fields["status"]),
    ]
    if fields.get("approval_status"):
        # Shown as it changes: the sink updates the document's message in place.
        facts.append(("Approval", fields["approval_status"]))
    return facts


def blocks_json(fields: dict[str, str], *, record_url: str | None = None) -> str:
    """A Block Kit section with the entity's key facts as mrkdwn fields, and the link back
    to the record when one is configured."""
    facts = fact_rows(fields)
    title = f"{fields['label']} {fields['invoice_number']}"
    header = f"*{_escape(title)}* ({_escape(fields['rule'])})"
    section = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": header},
        "fields": [
            {"type": "mrkdwn", "text": f"*{label}*\n{_escape(value)}"} for label, value in facts
        ],
    }
    blocks: list[dict[str, Any]] = [section]
    if record_url is not None:
        link = f"<{record_url}|Open {_escape(title)} in Visma.net>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    return json.dumps(blocks, ensure_ascii=False)


def _escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters; a vendor name must not."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
