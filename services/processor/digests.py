"""Daily digests: a target's matches of one day are sent together, as one message.

A target with `digest: {daily_at: "17:00", timezone: Europe/Oslo}` receives no message per
match. Each match becomes a `DigestItem` instead, on the day whose digest is the next one
after the event was observed (observed at 16:59 -> today's, at 17:00 -> tomorrow's): a
replay puts an item on the same day. Items travel on the processor's digest-items topic,
keyed by (tenant, rule, target), so every day of one target lives on one partition, and are
collected into a bucket per (tenant, rule, target, day). An entity appears once per digest,
in its newest version; a day with no items has no bucket and sends nothing.

At `daily_at` the bucket is closed (its items frozen, durably) before its commands are sent,
then marked sent. An item that arrives for a closed day was either in it already (a repeat:
dropped) or is late (it goes to the next open day), so each item is sent exactly once. A
restart that sends a closed bucket again sends the same items under the same command id
(tenant, rule, target and day), which the sink's ledger drops.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from events import PostSlackMessage, VismaEntityChanged
from events.commands import Command, CreateMondayItem, SendEmail, SendSms
from processor.email_message import Card, EmailParts, alert_email, digest_email
from processor.matchers import matches
from processor.routing import Provenance, command_id, target_message
from processor.rules import RuleSet, Target
from processor.rules_facts import facts_of
from processor.rules_schema import Digest, EmailTarget, MondayTarget, SlackTarget, SmsTarget
from processor.schedule_state import Clock, PartitionedStore, system_clock
from processor.sms_segments import fit
from processor.templates import TemplateError, render

log = logging.getLogger(__name__)

KEEP_SENT = timedelta(days=7)
"""How long a sent bucket remembers its items, to drop a late repeat of one of them."""


class DigestItem(BaseModel):
    """One match for a digest target: what the digest-items topic carries (as JSON)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    rule: str
    target: dict[str, Any]
    """The target as configured when the item matched (a reload cannot strand a digest)."""
    day: date
    event_id: str
    entity_key: str
    entity_type: str
    entity_id: str
    version: int
    """The entity's last_modified in epoch millis: the newest version of an entity wins."""
    observed_at: datetime
    text: str
    """The item as the target's template (or the default message) renders it."""
    fields: dict[str, str]

    @property
    def target_id(self) -> str:
        return ",".join(Target.model_validate(self.target).spec.target_keys())

    @property
    def topic_key(self) -> str:
        """Every day of one target shares a partition: late items can move to the next day."""
        return f"{self.tenant_id}|{self.rule}|{self.target_id}"

    def bucket_key(self, day: date | None = None) -> str:
        return f"{self.topic_key}|{(day or self.day).isoformat()}"


class Bucket(BaseModel):
    """The items of one target's digest for one day, and how far its sending got."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    rule: str
    target: dict[str, Any]
    day: date
    partition: int
    status: Literal["open", "closed", "sent"] = "open"
    items: dict[str, DigestItem] = {}
    """By entity key."""
    ids: list[str] = []
    """Event ids of the items, kept after sending to recognise a repeat."""

    @property
    def digest(self) -> Digest:
        spec = Target.model_validate(self.target).digest
        assert spec is not None, "a bucket is made for digest targets only"
        return spec

    def send_at(self) -> datetime:
        return send_time(self.day, self.digest)


@dataclass(frozen=True)
class DueDigest:
    """A closed bucket to send: send `commands`, then call `Digests.sent`."""

    key: str
    bucket: Bucket
    commands: list[Command]


def send_time(day: date, digest: Digest) -> datetime:
    """When `day`'s digest goes out, as a UTC instant (daylight saving included)."""
    local = datetime.combine(day, digest.daily_at, tzinfo=digest.zone)
    return local.astimezone(UTC)


def digest_day(observed_at: datetime, digest: Digest) -> date:
    """The day of the first digest sent after `observed_at`."""
    local = observed_at.astimezone(digest.zone)
    return local.date() if local.time() < digest.daily_at else local.date() + timedelta(days=1)


def digest_items(
    event: VismaEntityChanged, enrichment: Mapping[str, str], rules: RuleSet
) -> list[DigestItem]:
    """The digest items an event makes: one per matching rule and digest target."""
    scheduled = [rule for rule in rules.rules if rule.digest_targets]
    if not scheduled:
        return []
    facts = facts_of(event, enrichment=enrichment)
    items = []
    for rule in scheduled:
        if not matches(rule.when, facts):
            continue
        for target in rule.digest_targets:
            assert target.digest is not None
            fields, text = target_message(facts, rule, target)
            items.append(DigestItem(
                tenant_id=event.tenant_id, rule=rule.name,
                target=target.model_dump(mode="json", exclude_none=True),
                day=digest_day(event.observed_at, target.digest), event_id=event.event_id,
                entity_key=event.key, entity_type=event.entity_type, entity_id=event.entity_id,
                version=int(event.last_modified.timestamp() * 1000),
                observed_at=event.observed_at, text=text, fields=fields,
            ))  # fmt: skip
    return items


class Digests:
    """Collects items into day buckets and says which digests are due."""

    def __init__(
        self, store: PartitionedStore, *, clock: Clock = system_clock, keep: timedelta = KEEP_SENT
    ) -> None:
        self._store = store
        self._clock = clock
        self._keep = keep

    def add(self, item: DigestItem, *, partition: int) -> None:
        """Puts an item in its day's bucket, or the next open one if that day is closed."""
        day = item.day
        while True:
            key = item.bucket_key(day)
            known = self._store.get(key)
            bucket = Bucket.model_validate(known) if known is not None else None
            if bucket is None or bucket.status == "open":
                break
            if item.event_id in bucket.ids:
                return  # a repeat of an item already sent
            day += timedelta(days=1)
        if bucket is None:
            bucket = Bucket(tenant_id=item.tenant_id, rule=item.rule, target=item.target,
                            day=day, partition=partition)  # fmt: skip
        present = bucket.items.get(item.entity_key)
        if present is not None and present.version >= item.version:
            return  # this version, or a newer one, is in already
        items = {**bucket.items, item.entity_key: item.model_copy(update={"day": day})}
        # The newest target config wins: a reload that changes the template applies.
        updated = bucket.model_copy(update={"items": items, "target": item.target})
        self._put(key, updated)

    async def close_due(self) -> list[DueDigest]:
        """Closes every bucket whose time has come, waits until that is durable, and returns
        the closed, unsent buckets with their commands. Old sent buckets are forgotten."""
        now = self._clock()
        closing: list[Awaitable[object]] = []
        due: list[tuple[str, Bucket]] = []
        for key, value in self._store.owned():
            bucket = Bucket.model_validate(value)
            if bucket.status == "sent":
                if bucket.send_at() + self._keep < now:
                    self._store.delete(key, partition=bucket.partition)
                continue
            if bucket.send_at() > now:
                continue
            if bucket.status == "open":
                ids = sorted(item.event_id for item in bucket.items.values())
                bucket = bucket.model_copy(update={"status": "closed", "ids": ids})
                closing.append(self._put(key, bucket))
            due.append((key, bucket))
        for write in closing:
            await write
        return [DueDigest(key=key, bucket=b, commands=digest_commands(b)) for key, b in due]

    def sent(self, due: DueDigest) -> Awaitable[object]:
        sent = due.bucket.model_copy(update={"status": "sent", "items": {}})
        return self._put(due.key, sent)

    def _put(self, key: str, bucket: Bucket) -> Awaitable[object]:
        return self._store.put(key, bucket.model_dump(mode="json"), partition=bucket.partition)


def digest_context(bucket: Bucket) -> dict[str, Any]:
    """What a digest template sees; items in the order they were observed."""
    ordered = sorted(bucket.items.values(), key=lambda i: (i.observed_at, i.entity_key))
    items = [
        {**item.fields, "text": item.text, "entity_type": item.entity_type,
         "event_id": item.event_id}
        for item in ordered
    ]  # fmt: skip
    return {"items": items, "count": len(items), "day": bucket.day, "rule": bucket.rule,
            "tenant_id": bucket.tenant_id}  # fmt: skip


def digest_commands(bucket: Bucket) -> list[Command]:
    """One command per target (per recipient for SMS), like a single match would make."""
    if not bucket.items:
        return []
    target = Target.model_validate(bucket.target)
    digest = bucket.digest
    values = digest_context(bucket)
    lines = "\n".join(f"• {item['text']}" for item in values["items"])
    heading = f"{bucket.rule}: {values['count']} for {bucket.day.isoformat()}"
    body = _rendered(digest.template, values, bucket.rule, default=f"{heading}\n{lines}")
    title = _rendered(digest.subject, values, bucket.rule, default=heading)
    spec = target.spec
    keys = spec.target_keys()
    if isinstance(spec, SlackTarget):
        return [PostSlackMessage(**_provenance(bucket, keys[0]), workspace=spec.workspace,
                                 channel=spec.channel, text=body)]  # fmt: skip
    if isinstance(spec, SmsTarget):
        sms = fit(body, spec.max_segments)
        return [SendSms(**_provenance(bucket, key), to=number, body=sms)
                for number, key in zip(spec.to, keys, strict=True)]  # fmt: skip
    if isinstance(spec, EmailTarget):
        parts = _email_parts(bucket, values, heading=heading, body=body)
        return [SendEmail(**_provenance(bucket, keys[0]), to=list(spec.to), subject=title,
                          body=parts.text, html=parts.html)]  # fmt: skip
    if isinstance(spec, MondayTarget):
        return [CreateMondayItem(**_provenance(bucket, keys[0]), board_id=spec.board,
                                 group_id=spec.group, item_name=title, body=body)]  # fmt: skip
    raise ValueError(f"no digest for {target.kind} targets")  # the rules schema forbids it


def _email_parts(
    bucket: Bucket, values: Mapping[str, Any], *, heading: str, body: str
) -> EmailParts:
    """The digest's text and its Slack-styled HTML: a card per item, or the digest's own
    template's text in one card when it has one."""
    if bucket.digest.template is not None:
        return EmailParts(text=body, html=alert_email(Card(title=heading, text=body)).html)
    cards = [
        Card(
            title=f"{item.get('label', '')} {item.get('invoice_number', '')}".strip(),
            text=item["text"],
        )
        for item in values["items"]
    ]
    return digest_email(heading, cards)


def _provenance(bucket: Bucket, target_key: str) -> Provenance:
    day = bucket.day.isoformat()
    digest_of = f"digest/{bucket.tenant_id}/{day}"
    return Provenance(
        command_id=command_id(digest_of, bucket.rule, target_key),
        tenant_id=bucket.tenant_id,
        rule=bucket.rule,
        source_event_id=f"{digest_of}/{bucket.rule}",
        entity_type="digest",
        entity_id=f"{bucket.rule}/{day}",
        created_at=bucket.send_at(),
    )


def _rendered(template: str | None, values: Mapping[str, Any], rule: str, *, default: str) -> str:
    if template is None:
        return default
    try:
        return render(template, values, rule=rule)
    except TemplateError as exc:
        log.warning("digest template failed, sending the default: %s", exc)
        return default
