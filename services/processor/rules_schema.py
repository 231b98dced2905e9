"""The shape of a rules file: rules, their conditions (`when`) and their targets.

Two generations share one model. A v1 rule has one `slack:` target and an optional
rule-level `template` in str.format syntax; a v2 rule has a list of `targets`, each with
an optional Jinja2 `template`. Every condition is optional and all of them must hold.
Amounts are exact Decimals; unknown keys, unknown entity types, empty lists and duplicate
targets are errors, because a rule that can never match should not load quietly.
"""

from __future__ import annotations

import re
import string
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from events import VISMA_EVENTS, ChangeType
from events.slack import OnChange
from processor.sms_segments import MAX_SEGMENTS
from processor.templates import NAMES, TemplateError, check_template

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Amount = Annotated[Decimal, Field(ge=0)]
Rate = Annotated[Decimal, Field(gt=0)]
Word = Annotated[str, Field(min_length=1)]
Phone = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{1,14}$", description="E.164")]
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]

TEMPLATE_FIELDS = {
    "vendor": "Acme AB",
    "amount": "SEK 125,000.00",
    "currency": "SEK",
    "invoice_number": "10042",
    "po_reference": "PO-7",
    "due_date": date(2026, 1, 31).isoformat(),
    "status": "Open",
    "description": "",
    "company_id": "1234567",
    "entity_id": "Invoice:10042",
    "rule": "large-invoices",
    "summary": "created: Acme AB, SEK 125,000.00, due 2026-01-31, status Open",
}
"""The names a v1 (str.format) template may use, with sample values used to check one."""
DEFAULT_SMS_SEGMENTS = 2
"""An alert's default budget: 306 GSM-7 characters, or 134 in UCS-2."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _listify(value: Any) -> Any:
    """`approval_status: Pending` means the same as `approval_status: [Pending]`."""
    return [value] if isinstance(value, str) else value


class Due(_Strict):
    """`overdue: true` (due before today), `overdue: false`, or `within_days: N`."""

    overdue: bool | None = None
    within_days: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Due:
        if (self.overdue is None) == (self.within_days is None):
            raise ValueError("give exactly one of overdue or within_days")
        return self


class BaseAmount(_Strict):
    """The amount converted to `base_currency` with fixed `rates` (1 unit = rate base units)."""

    base_currency: Currency
    rates: dict[Currency, Rate]
    min: Amount | None = None
    max: Amount | None = None

    @model_validator(mode="after")
    def _bounded(self) -> BaseAmount:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("min must be below max")
        return self

    def rate(self, currency: str) -> Decimal | None:
        return self.rates.get(currency, Decimal(1) if currency == self.base_currency else None)


class When(_Strict):
    """Conditions an event must meet; all of them must hold for the rule to match."""

    entity_type: str | tuple[str, ...] = "supplierInvoice"
    change_types: Annotated[frozenset[ChangeType], Field(min_length=1)] = Field(
        default=frozenset({ChangeType.CREATED, ChangeType.UPDATED}),
        validation_alias=AliasChoices("change_type", "change_types"),
    )
    min_amount: dict[Currency, Amount] | None = Field(
        default=None, description="amount >= threshold; unlisted currencies never match"
    )
    max_amount: dict[Currency, Amount] | None = Field(
        default=None, description="amount < limit; unlisted currencies never match"
    )
    amount_in_base: BaseAmount | None = None
    approval_status: Annotated[frozenset[Word], Field(min_length=1)] | None = None
    supplier: Annotated[frozenset[Word], Field(min_length=1)] | None = None
    tenant: Annotated[frozenset[Word], Field(min_length=1)] | None = Field(
        default=None,
        description="tenant ids, exact: a board, channel or number that belongs to one "
        "tenant (a Monday board is in one tenant's monday account) hears only of its records",
    )
    vendor_category: Annotated[frozenset[Word], Field(min_length=1)] | None = None
    dimension: dict[Word, Annotated[frozenset[Word], Field(min_length=1)]] | None = None
    due: Due | None = None

    @field_validator(
        "change_types", "approval_status", "supplier", "tenant", "vendor_category", mode="before"
    )
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _listify(value)

    @field_validator("dimension", mode="before")
    @classmethod
    def _dimension_values(cls, value: Any) -> Any:
        return {k: _listify(v) for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("entity_type", mode="before")
    @classmethod
    def _known_entity_types(cls, value: Any) -> Any:
        names = [value] if isinstance(value, str) else value
        if isinstance(names, list):
            if not names:
                raise ValueError("list at least one entity type")
            for name in names:
                if name not in VISMA_EVENTS:
                    known = ", ".join(sorted(VISMA_EVENTS))
                    raise ValueError(f"unknown entity type {name!r}; known: {known}")
            return value if isinstance(value, str) else tuple(names)
        return value

    @model_validator(mode="after")
    def _one_kind_of_amount(self) -> When:
        if self.amount_in_base is not None and (self.min_amount or self.max_amount):
            raise ValueError("use min_amount/max_amount or amount_in_base, not both")
        return self

    @property
    def entity_types(self) -> frozenset[str]:
        return frozenset(
            [self.entity_type] if isinstance(self.entity_type, str) else self.entity_type
        )


class SlackTarget(_Strict):
    workspace: str = Field(default="default", min_length=1)
    channel: str = Field(min_length=1)
    mention: tuple[EmailAddress, ...] = Field(
        default=(), description="approvers to @-mention, by the email of their Slack user"
    )
    on_change: OnChange = Field(
        default=OnChange.UPDATE,
        description="a later version of a document the channel already shows: 'update' its "
        "message in place (one message per document per channel), post in its 'thread' (a "
        "change worth a new post, e.g. in a rule matching amounts above a threshold), or "
        "'post' a new message",
    )

    def target_keys(self) -> list[str]:
        return [f"{self.workspace}/{self.channel}"]

    @property
    def key(self) -> str:
        return self.target_keys()[0]


class SmsTarget(_Strict):
    to: Annotated[tuple[Phone, ...], Field(min_length=1)]
    max_segments: int = Field(
        default=DEFAULT_SMS_SEGMENTS,
        ge=1,
        le=MAX_SEGMENTS,
        description="the most segments one SMS may cost: 160 GSM-7 characters in one segment, "
        "153 each when split (extension characters such as € [ ] { } | ^ ~ count double); one "
        "character outside GSM-7 makes it UCS-2: 70 in one, 67 each when split. A longer body "
        "is cut to fit and ends with an ellipsis ('...' in GSM-7)",
    )

    def target_keys(self) -> list[str]:
        """One SMS, and one command, per recipient."""
        return [f"sms:{number}" for number in self.to]


class EmailTarget(_Strict):
    to: Annotated[tuple[EmailAddress, ...], Field(min_length=1)]
    subject: str | None = Field(default=None, description="Jinja2 template of the subject")

    @field_validator("subject")
    @classmethod
    def _subject_compiles(cls, value: str | None) -> str | None:
        return _checked(value)

    def target_keys(self) -> list[str]:
        return ["email:" + ",".join(self.to)]


class MondayTarget(_Strict):
    board: str = Field(pattern=r"^[0-9]+$")
    group: str | None = Field(default=None, min_length=1)

    def target_keys(self) -> list[str]:
        return [f"monday:{self.board}/{self.group or ''}"]


class AirbaseTarget(_Strict):
    def target_keys(self) -> list[str]:
        return ["airbase"]


class VismaWriterTarget(_Strict):
    action: str = Field(pattern=r"^[a-z][a-z_-]*$")

    def target_keys(self) -> list[str]:
        return [f"visma-writer:{self.action}"]


Spec = SlackTarget | SmsTarget | EmailTarget | MondayTarget | AirbaseTarget | VismaWriterTarget
KINDS = ("slack", "sms", "email", "monday", "airbase", "visma_writer")


def _checked(template: str | None, names: frozenset[str] = NAMES) -> str | None:
    if template is not None:
        try:
            check_template(template, names)
        except TemplateError as exc:
            raise ValueError(str(exc)) from exc
    return template


MESSAGE_KINDS = ("slack", "sms", "email", "monday")
"""Targets a person reads: the only ones a reminder or a digest makes sense for."""
DIGEST_NAMES = frozenset({"items", "count", "day", "rule", "tenant_id", "money", "date"})
"""What a digest template sees: `items` (each with `text` and the message fields) and more."""
_CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")
_PERIOD = re.compile(r"^([1-9][0-9]*)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Remind(_Strict):
    """`remind: {every: 1d}`: re-post a match once per period until it is approved or paid."""

    every: timedelta = Field(description="30s, 15m, 2h, 1d or 1w")

    @field_validator("every", mode="before")
    @classmethod
    def _period(cls, value: Any) -> Any:
        if isinstance(value, str):
            found = _PERIOD.match(value.strip())
            if found is None:
                raise ValueError("a period such as 30s, 15m, 2h, 1d or 1w")
            return timedelta(**{_UNITS[found[2]]: int(found[1])})
        return value


class Digest(_Strict):
    """`digest: {daily_at: "17:00", timezone: Europe/Oslo}`: a target's matches of a day are
    sent together, as one message, at `daily_at`; each item reads as the target's template."""

    daily_at: time
    timezone: str = "UTC"
    template: str | None = Field(default=None, description="Jinja2 over DIGEST_NAMES")
    subject: str | None = Field(default=None, description="email subject / Monday item name")

    @field_validator("daily_at", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        if isinstance(value, str) and not _CLOCK_TIME.fullmatch(value):
            raise ValueError("a time of day as HH:MM, such as 17:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, such as Europe/Oslo") from exc
        return value

    @field_validator("template", "subject")
    @classmethod
    def _digest_template(cls, value: str | None) -> str | None:
        return _checked(value, DIGEST_NAMES)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Target(_Strict):
    """Exactly one destination, plus an optional Jinja2 template of the message body."""

    slack: SlackTarget | None = None
    sms: SmsTarget | None = None
    email: EmailTarget | None = None
    monday: MondayTarget | None = None
    airbase: AirbaseTarget | None = None
    visma_writer: VismaWriterTarget | None = None
    template: str | None = None
    digest: Digest | None = Field(default=None, description="send a daily digest instead")

    @field_validator("template")
    @classmethod
    def _template_compiles(cls, value: str | None) -> str | None:
        return _checked(value)

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Target:
        given = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(KINDS)}; got {given or 'none'}")
        if self.digest is not None and given[0] not in MESSAGE_KINDS:
            raise ValueError(f"a digest goes to {', '.join(MESSAGE_KINDS)}, not {given[0]}")
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if getattr(self, kind) is not None)

    @property
    def spec(self) -> Spec:
        spec: Spec = getattr(self, self.kind)
        return spec


class Rule(_Strict):
    name: str = Field(min_length=1)
    when: When = When()
    slack: SlackTarget | None = Field(default=None, description="v1: the one Slack target")
    template: str | None = Field(
        default=None, description="v1: str.format template over TEMPLATE_FIELDS"
    )
    targets: tuple[Target, ...] = ()
    remind: Remind | None = Field(default=None, description="re-post until approved or paid")

    @field_validator("template")
    @classmethod
    def _template_uses_known_fields(cls, value: str | None) -> str | None:
        if value is None:
            return value
        for _, field, _, _ in string.Formatter().parse(value):
            if field is not None and field not in TEMPLATE_FIELDS:
                known = ", ".join(sorted(TEMPLATE_FIELDS))
                raise ValueError(f"unknown template field {{{field}}}; known: {known}")
        try:
            value.format_map(TEMPLATE_FIELDS)
        except (ValueError, IndexError, KeyError) as exc:
            raise ValueError(f"invalid template: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _targets_are_clear(self) -> Rule:
        if (self.slack is None) == (not self.targets):
            raise ValueError("give either targets (a list) or the v1 slack target, not both")
        if self.template is not None and self.slack is None:
            raise ValueError("a rule-level template belongs to v1 slack; put it on each target")
        keys = [key for target in self.targets for key in target.spec.target_keys()]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"target {key!r} is listed twice")
        if self.remind is not None and not self.reminder_targets:
            kinds = ", ".join(MESSAGE_KINDS)
            raise ValueError(f"remind needs a target without digest among {kinds}")
        return self

    @property
    def reminder_targets(self) -> tuple[Target, ...]:
        """Where reminders go: the targets a person reads at once (not digests, not tools)."""
        if self.slack is not None:
            return (Target(slack=self.slack),)
        return tuple(t for t in self.targets if t.digest is None and t.kind in MESSAGE_KINDS)

    @property
    def digest_targets(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.digest is not None)


class RuleSet(_Strict):
    rules: list[Rule]
    record_links: dict[str, str] = Field(
        default_factory=dict,
        description="link back to the record, by `tenant/company`, tenant or `*`: a "
        "str.format template over the message fields, e.g. a Visma.net UI address",
    )
    definitions: dict[str, Any] = Field(
        default_factory=dict,
        description="never read: a home for YAML anchors (&rates) that rules reuse (*rates)",
    )

    @field_validator("rules")
    @classmethod
    def _names_are_unique(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return rules
