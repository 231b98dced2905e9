"""Message templates: Jinja2 in a sandbox, so a rules file can shape text but run nothing.

Templates are compiled when the rules file loads (a syntax error or an unknown name is a
rules-file error naming the rule) and rendered per command. Rendering uses StrictUndefined,
so `{{ payload.po_reference }}` on an entity without one fails loudly instead of printing
nothing; the caller then falls back to the default message and logs why, and the command is
still sent. Values are plain text (no HTML escaping): Slack, SMS and email bodies.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from events import VismaEntityChanged
from processor.rules_facts import Facts

CENTS = Decimal("0.01")

NAMES = frozenset(
    {
        "event", "payload", "enrichment", "rule", "today", "entity_type", "entity_id",
        "change_type", "amount", "currency", "due_date", "approval_status", "supplier",
        "reference", "vendor", "money", "date", "summary",
    }
)  # fmt: skip
"""Every top-level name a template may use."""


class TemplateError(Exception):
    """A template cannot be compiled or rendered; the message names the rule."""


def money(amount: object, currency: object = "") -> str:
    """`SEK 125,000.00`: rounded half up like an invoice; a missing amount reads as a word."""
    if amount is None:
        return "unknown amount"
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        text = f"{value.quantize(CENTS, rounding=ROUND_HALF_UP):,.2f}"
    except (InvalidOperation, ValueError):
        text = str(amount)
    return f"{currency} {text}" if currency else text


def format_date(value: object, fmt: str = "%Y-%m-%d") -> str:
    """A date or time in `fmt`; None reads as `not set`, anything else as its text."""
    if value is None:
        return "not set"
    if isinstance(value, date | datetime):
        return value.strftime(fmt)
    return str(value)


def change_summary(facts: Facts) -> str:
    """What changed, in one line: `created: Acme AB, SEK 125,000.00, due 2026-03-31, status
    Open`. Facts the entity does not have are left out, so every entity type reads well."""
    party = facts.party or facts.supplier or "unknown party"
    parts = [party, money(facts.amount, facts.currency or "")]
    if facts.due_date is not None:
        parts.append(f"due {facts.due_date.isoformat()}")
    status = facts.payload.get("status")
    if isinstance(status, str) and status.strip():
        parts.append(f"status {status.strip()}")
    if facts.approval_status is not None:
        parts.append(f"approval {facts.approval_status}")
    return f"{str(facts.change_type).lower()}: {', '.join(parts)}"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals.update(money=money, date=format_date)
    env.filters.update(money=money, date=format_date)
    return env


ENV = _environment()


def check_template(source: str, names: frozenset[str] = NAMES) -> None:
    """Rejects syntax errors and names no event will ever have, when the rules file loads.

    `names` are the names the template will be given (a digest's differ from an event's)."""
    try:
        unknown = meta.find_undeclared_variables(ENV.parse(source)) - names
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template line {exc.lineno}: {exc.message}") from exc
    if unknown:
        known = ", ".join(sorted(names))
        raise TemplateError(f"unknown template name {sorted(unknown)[0]!r}; known: {known}")


@functools.lru_cache(maxsize=1024)
def compiled(source: str) -> jinja2.Template:
    """Each distinct template is compiled once per process, not once per event."""
    return ENV.from_string(source)


def context(facts: Facts, *, rule: str) -> dict[str, Any]:
    """What a template sees: the event's envelope and payload, enrichment and the facts."""
    event = facts.event
    return {
        "event": {name: getattr(event, name) for name in VismaEntityChanged.model_fields},
        "payload": dict(facts.payload),
        "enrichment": dict(facts.enrichment),
        "rule": rule,
        "today": facts.today,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "change_type": str(event.change_type),
        "amount": facts.amount,
        "currency": facts.currency,
        "due_date": facts.due_date,
        "approval_status": facts.approval_status,
        "supplier": facts.supplier,
        "reference": facts.reference,
        "vendor": facts.party,
        "summary": change_summary(facts),
    }


# User templates can fail in many ways at render time; these are the ones Jinja lets through.
RENDER_ERRORS = (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, LookupError)


def render(source: str, values: Mapping[str, Any], *, rule: str) -> str:
    """Renders a template; raises TemplateError naming the rule if it cannot."""
    try:
        return compiled(source).render(values)
    except RENDER_ERRORS as exc:
        raise TemplateError(f"rule {rule!r}: template failed: {type(exc).__name__}: {exc}") from exc
