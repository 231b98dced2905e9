"""Reminders: a matched invoice is re-posted once per period until it is approved or paid.

A rule with `remind: {every: 1d}` starts a reminder for each entity it matches. The reminder
remembers the entity's latest version (every later event of the entity replaces it) and
stops as soon as a later version is settled: approved, paid, closed, voided, or a balance
of zero. Period n starts at `anchor + n * every`, the anchor being when the first matching
version was observed; the timer sends each period at most once and never catches up on
periods missed while the processor was down (one reminder, for the current period).

The command id of a reminder is derived from the entity, the anchor, the rule, the target
and the period number, so a restart that sends a period again gives the same id and the
sink's ledger drops it. Plain code: state lives in a `PartitionedStore`, time in a `Clock`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from events import ChangeType, PostSlackMessage, VismaEntityChanged
from events.commands import Command, CreateMondayItem, SendEmail, SendSms
from events.slack import OnChange
from events.visma_entities import VISMA_EVENTS
from processor.email_message import with_note
from processor.matchers import evaluate, matches
from processor.routing import command_id, commands_for
from processor.rules import Rule, RuleSet
from processor.rules_facts import Facts, facts_of
from processor.rules_schema import Target
from processor.schedule_state import DONE, Clock, PartitionedStore, system_clock
from processor.sms_segments import MAX_SEGMENTS, fit

log = logging.getLogger(__name__)

SETTLED_APPROVAL = frozenset({"approved"})
TIMELESS = frozenset({"change_type"})
"""Conditions a reminder does not re-check: it is about the entity's state, not the change."""
WAITING = frozenset({"due"})
"""Conditions that time alone can make true again: failing only these, a reminder waits."""
PREFIX = "Reminder: "


class ReminderState(BaseModel):
    """One entity under one rule, as stored in the reminders table."""

    model_config = ConfigDict(frozen=True)

    entity_key: str
    rule: str
    partition: int
    anchor: datetime
    sent: int = 0
    """The last period reminded (0: none yet)."""
    event: dict[str, Any]
    """The entity's latest version, as JSON."""
    enrichment: dict[str, str] = {}

    def latest(self) -> VismaEntityChanged:
        model = VISMA_EVENTS[self.event["entity_type"]]
        return model.model_validate(self.event)


@dataclass(frozen=True)
class DueReminder:
    """A period to remind of: send `commands`, then call `Reminders.sent`."""

    key: str
    state: ReminderState
    period: int
    commands: list[Command]


def reminder_key(entity_key: str, rule: str) -> str:
    return f"{entity_key}|{rule}"


def reminder_id(state: ReminderState, period: int, target_key: str) -> str:
    """Entity, series (anchor), rule, target and period: the same on every restart."""
    anchor = int(state.anchor.timestamp() * 1000)
    return command_id(f"{state.entity_key}@{anchor}#remind-{period}", state.rule, target_key)


def settled(facts: Facts) -> bool:
    """Approved, paid, closed or with nothing left to pay: no more reminders."""
    if facts.change_type == ChangeType.DELETED:
        return True
    return (facts.approval_status or "").casefold() in SETTLED_APPROVAL or facts.closed


class Reminders:
    """Starts, updates and stops reminders as events arrive; says which periods are due."""

    def __init__(self, store: PartitionedStore, *, clock: Clock = system_clock) -> None:
        self._store = store
        self._clock = clock

    def observe(
        self,
        event: VismaEntityChanged,
        enrichment: Mapping[str, str],
        rules: RuleSet,
        *,
        partition: int,
    ) -> None:
        """Called for every new version of every entity, in order, on its input partition."""
        reminding = [rule for rule in rules.rules if rule.remind is not None]
        if not reminding:
            return
        facts = facts_of(event, enrichment=enrichment)
        done = settled(facts)
        for rule in reminding:
            key = reminder_key(event.key, rule.name)
            known = self._store.get(key)
            if done:
                if known is not None:
                    self._store.delete(key, partition=partition)
                continue
            if known is not None:
                state = ReminderState.model_validate(known)
                self._put(key, _snapshot(state, event, enrichment))
            elif matches(rule.when, facts):
                self._put(key, ReminderState(
                    entity_key=event.key, rule=rule.name, partition=partition,
                    anchor=event.observed_at, event=_as_json(event), enrichment=dict(enrichment),
                ))  # fmt: skip

    def due(self, rules: RuleSet) -> list[DueReminder]:
        """Every reminder whose next period has begun; stale ones (rule gone) are dropped."""
        now = self._clock()
        by_name = {rule.name: rule for rule in rules.rules}
        found: list[DueReminder] = []
        for key, value in self._store.owned():
            state = ReminderState.model_validate(value)
            rule = by_name.get(state.rule)
            if rule is None or rule.remind is None:
                self._store.delete(key, partition=state.partition)
                continue
            period = int((now - state.anchor) / rule.remind.every)
            if period < 1 or period <= state.sent:
                continue
            facts = facts_of(state.latest(), enrichment=state.enrichment, today=now.date())
            failed = {name for name, ok in evaluate(rule.when, facts) if not ok} - TIMELESS
            if failed and not failed <= WAITING:
                log.info("reminder stopped: %s no longer matches %s", state.entity_key, failed)
                self._store.delete(key, partition=state.partition)
            elif not failed:
                commands = reminder_commands(facts, rule, state, period)
                found.append(DueReminder(key=key, state=state, period=period, commands=commands))
        return found

    def sent(self, reminder: DueReminder) -> Awaitable[object]:
        """Records the period as reminded, unless the reminder stopped meanwhile."""
        current = self._store.get(reminder.key)
        if current is None:
            return DONE
        state = ReminderState.model_validate(current)
        if state.anchor != reminder.state.anchor:  # stopped and started again: a new series
            return DONE
        return self._put(reminder.key, state.model_copy(update={"sent": reminder.period}))

    def _put(self, key: str, state: ReminderState) -> Awaitable[object]:
        return self._store.put(key, state.model_dump(mode="json"), partition=state.partition)


def reminder_commands(facts: Facts, rule: Rule, state: ReminderState, period: int) -> list[Command]:
    """The rule's messages for the latest version, marked as a reminder, with period ids."""
    every = rule.remind.every if rule.remind is not None else None
    created = state.anchor + every * period if every is not None else facts.event.observed_at
    created = created.astimezone(UTC).replace(microsecond=created.microsecond // 1000 * 1000)
    if rule.slack is not None:
        per_target = [(Target(slack=rule.slack), commands_for(facts, rule))]
    else:
        per_target = [
            (t, commands_for(facts, rule.model_copy(update={"targets": (t,)})))
            for t in rule.reminder_targets
        ]
    return [
        _as_reminder(command, reminder_id(state, period, key), created, target=target)
        for target, commands in per_target
        for key, command in zip(target.spec.target_keys(), commands, strict=True)
    ]


def _as_reminder(command: Command, new_id: str, created: datetime, *, target: Target) -> Command:
    update: dict[str, Any] = {"command_id": new_id, "created_at": created}
    if isinstance(command, PostSlackMessage):
        update["text"] = PREFIX + command.text
        update["on_change"] = OnChange.POST  # a reminder is a new message, not a version
        if command.blocks_json is not None:
            note = {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Reminder*"}]}
            update["blocks_json"] = json.dumps([note, *json.loads(command.blocks_json)])
    elif isinstance(command, SendSms):
        segments = target.sms.max_segments if target.sms is not None else MAX_SEGMENTS
        update["body"] = fit(PREFIX + command.body, segments)  # the prefix counts too
    elif isinstance(command, SendEmail):
        update |= {"subject": PREFIX + command.subject, "body": PREFIX + command.body}
        if command.html is not None:
            update["html"] = with_note(command.html, "Reminder")
    elif isinstance(command, CreateMondayItem) and command.visma_id is None:
        update["item_name"] = PREFIX + command.item_name
    # A record's item is updated in place, not renamed: the reminder refreshes its fields
    # (days overdue as of the reminder's day) through the sink's upsert by Visma id.
    return command.model_copy(update=update)


def _snapshot(
    state: ReminderState, event: VismaEntityChanged, enrichment: Mapping[str, str]
) -> ReminderState:
    return state.model_copy(update={"event": _as_json(event), "enrichment": dict(enrichment)})


def _as_json(event: VismaEntityChanged) -> dict[str, Any]:
    data: dict[str, Any] = event.model_dump(mode="json")
    return data
