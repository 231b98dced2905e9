"""The comparison behind `mlc rules preview`: what new rules would send for a window of
history, next to what the running rules did send, per target.

Plain functions over what `mlc.preview_history` read: no Kafka, no faust, no sink. The
events are judged as the processor judges them (`processor.routing.route_all`, the same
enrichment from the same reference records, `today` the day each event was observed), with
the events the processor did not judge by its rules left out as it left them out: a version
it had already processed (its audit says so) or one seen earlier in the window.

A message is one command to one target about one event: the preview's and the sent ones are
paired by (event, target), so a changed template or a renamed rule that still sends the same
event to the same place is no difference, while a raised threshold shows each message that
would no longer be sent.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from events.commands import (
    ApplyVismaAction,
    Command,
    CreateMondayItem,
    SendEmail,
    SendSms,
    SyncToAirbase,
)
from events.slack import PostSlackMessage
from events.visma import VismaEntityChanged
from mlc.preview_history import History, ReferenceSnapshot, Routed
from processor.enrichment import ReferenceData
from processor.handler import epoch_millis
from processor.routing import route_all
from processor.rules import RuleSet

TEXT_WIDTH = 72
KINDS = ("slack", "SMS", "email", "monday", "airbase", "visma")
"""The order targets are listed in; any other kind comes after them."""


@dataclass(frozen=True)
class Target:
    """Where a message goes: its kind (slack, SMS, email, monday, airbase, visma) and place."""

    kind: str
    destination: str

    def __str__(self) -> str:
        return self.destination if self.kind == "slack" else f"{self.kind} {self.destination}"

    def order(self) -> tuple[int, str, str]:
        rank = KINDS.index(self.kind) if self.kind in KINDS else len(KINDS)
        return rank, self.kind, self.destination

    def change(self, count: int) -> str:
        """`+12 to #ap-large`, `-3 SMS to +46701110001`."""
        sign = "+" if count > 0 else "-"
        noun = "" if self.kind == "slack" else f" {self.kind}"
        return f"{sign}{abs(count)}{noun} to {self.destination}"


@dataclass(frozen=True)
class Message:
    """One command to one target about one event."""

    target: Target
    event_id: str
    entity: str
    rule: str
    text: str

    @property
    def pairing(self) -> tuple[Target, str]:
        return self.target, self.event_id


@dataclass(frozen=True)
class TargetCount:
    target: Target
    would: int
    sent: int
    added: int
    removed: int


@dataclass
class Preview:
    """Per target what would be sent and what was; the messages that differ."""

    events: int = 0
    """Events judged by the rules (after the processor's own skips)."""
    not_judged: int = 0
    """Events of the window the processor skipped as already processed (or repeated within
    the window): no rules would see them."""
    unreadable: int = 0
    routed_unsent: int = 0
    """Commands the running rules routed for these events that no sink reported sent (failed,
    held or still queued): not counted as sent."""
    targets: list[TargetCount] = field(default_factory=list)
    added: list[Message] = field(default_factory=list)
    """Would be sent, was not."""
    removed: list[Message] = field(default_factory=list)
    """Was sent, would not be."""

    def differences(self) -> list[str]:
        changes = []
        for count in self.targets:
            if count.added:
                changes.append(count.target.change(count.added))
            if count.removed:
                changes.append(count.target.change(-count.removed))
        return changes


def target_of(command: Command) -> Target:
    """The place a command sends to, as an operator names it."""
    if isinstance(command, PostSlackMessage):
        channel = command.channel if command.channel.startswith("#") else f"#{command.channel}"
        where = channel if command.workspace == "default" else f"{command.workspace}/{channel}"
        return Target("slack", where)
    if isinstance(command, SendSms):
        return Target("SMS", command.to)
    if isinstance(command, SendEmail):
        return Target("email", ", ".join(command.to))
    if isinstance(command, CreateMondayItem):
        return Target("monday", f"board {command.board_id}")
    if isinstance(command, SyncToAirbase):
        return Target("airbase", command.tenant_id)
    if isinstance(command, ApplyVismaAction):
        return Target("visma", f"{command.company_id} ({command.action})")
    return Target(type(command).__name__, command.key)


def text_of(command: Command) -> str:
    """The first line of what the target would read, cut to one terminal line."""
    if isinstance(command, PostSlackMessage):
        text = command.text
    elif isinstance(command, SendSms):
        text = command.body
    elif isinstance(command, SendEmail):
        text = command.subject
    elif isinstance(command, CreateMondayItem):
        text = command.item_name
    elif isinstance(command, SyncToAirbase):
        text = command.note
    elif isinstance(command, ApplyVismaAction):
        text = command.comment
    else:
        text = ""
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= TEXT_WIDTH else line[: TEXT_WIDTH - 1] + "…"


def message_of(command: Command) -> Message:
    return Message(
        target=target_of(command),
        event_id=command.source_event_id,
        entity=command.entity_id,
        rule=command.rule,
        text=text_of(command),
    )


def judged_events(history: History, *, tenant: str | None = None) -> list[VismaEntityChanged]:
    """The window's events the processor judged by its rules, in the order read: not those
    its audit shows skipped as already processed, not a version repeated in the window."""
    newest: dict[str, int] = {}
    judged = []
    for event in history.events:
        if tenant is not None and event.tenant_id != tenant:
            continue
        version = epoch_millis(event)
        previous = newest.get(event.key)
        if event.event_id in history.skipped_events or (
            previous is not None and version <= previous
        ):
            continue
        newest[event.key] = version
        judged.append(event)
    return judged


def compare(history: History, rules: RuleSet, *, tenant: str | None = None) -> Preview:
    """What `rules` would send for the window's events next to what was sent."""
    events = judged_events(history, tenant=tenant)
    in_window = sum(1 for e in history.events if tenant is None or e.tenant_id == tenant)
    enrichment = asyncio.run(_enrich_all(history, events))
    would = [
        message_of(command)
        for event, extra in zip(events, enrichment, strict=True)
        for command in route_all(event, rules, enrichment=extra)
    ]
    sent, unsent = sent_messages(history, {e.event_id for e in events})
    preview = Preview(
        events=len(events), not_judged=in_window - len(events), unreadable=history.unreadable,
        routed_unsent=unsent,
    )  # fmt: skip
    preview.added = _without(would, sent)
    preview.removed = _without(sent, would)
    preview.targets = _counts(would, sent, preview.added, preview.removed)
    return preview


def sent_messages(history: History, event_ids: set[str]) -> tuple[list[Message], int]:
    """The messages the running rules routed from these events and a sink sent, and how
    many routed ones no sink reported sent."""
    sent: list[Message] = []
    unsent = 0
    seen: set[str] = set()
    for routed in history.routed:
        if routed.event_id not in event_ids or routed.command_id in seen:
            continue
        seen.add(routed.command_id)  # a processor that routed an event twice sent it once
        if routed.command_id not in history.sent:
            unsent += 1
            continue
        command = history.commands.get(routed.command_id)
        sent.append(message_of(command) if command is not None else _from_audit(routed))
    return sent, unsent


def _from_audit(routed: Routed) -> Message:
    """A sent command no longer on its topic: the routing's audit names rule and key."""
    rule, _, key = routed.detail.removeprefix("rule ").partition(" -> ")
    return Message(Target("key", key), routed.event_id, "", rule, "")


async def _enrich_all(
    history: History, events: Sequence[VismaEntityChanged]
) -> list[Mapping[str, str]]:
    reference = ReferenceData(ReferenceSnapshot(history.reference), wait_seconds=0)
    return [await reference.enrich(event) for event in events]


def _without(these: list[Message], those: list[Message]) -> list[Message]:
    """The messages of `these` with no partner in `those` (paired by target and event)."""
    partners = Counter(m.pairing for m in those)
    left = []
    for message in these:
        if partners[message.pairing] > 0:
            partners[message.pairing] -= 1
        else:
            left.append(message)
    return left


def _counts(
    would: list[Message], sent: list[Message], added: list[Message], removed: list[Message]
) -> list[TargetCount]:
    per = [Counter(m.target for m in group) for group in (would, sent, added, removed)]
    targets = sorted(set(per[0]) | set(per[1]), key=Target.order)
    return [TargetCount(t, per[0][t], per[1][t], per[2][t], per[3][t]) for t in targets]
