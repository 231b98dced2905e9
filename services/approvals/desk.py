"""The approvals desk: one Slack gesture in, at most one signal and one Visma action out.

For each reaction or thread reply it finds the posted message (and so the Visma record) it
is about, reads the gesture as a decision under that tenant's policy, checks the person may
approve, and hands the decision on: an `ApprovalSignal` always, an `ApplyVismaAction` only
when authorised. The action names the message's thread and the person, and the Visma writer
replies there once Visma has (or has not) taken it: only the writer knows what happened.
Each step is written to the audit trail under the Visma record's key, so `mlc audit <key>`
shows fact, post, signal, decision and action.

A gesture can arrive before the Slack sink's ledger entry of its message (a person reacts
within a moment of the post, or the sink died between posting and writing DONE and finds
its post again later). Such a gesture is not dropped: it is audited once and raised as
`NotArrivedYet`, so the runner tries it again (without an audit record per attempt), and
only when `ledger_budget_seconds` have passed since it was received does it go to the DLQ,
with the reason. A gesture on a message whose entry cannot come any more (the ledger view
has read past the message's time, `approvals.provenance`) is on a message the connector
never posted: it is ignored at once and audited once, never retried or dead-lettered.

Ids are derived, never random, so nothing is done twice: Slack's retries carry the same
event id, the same person's same decision on the same message is the same signal, and every
authorised signal for one message and decision is the same Visma command (the writer applies
a command id once, and derives its reply's id from it).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from prometheus_client import Counter

from approvals.approvers import Approvers
from approvals.config import (
    CONFIRMATION_RULE,
    LEDGER_BUDGET_SECONDS,
    ActionSpec,
    ApprovalsConfig,
    Policy,
)
from approvals.posted import workspace_and_channel
from approvals.provenance import FOREIGN_MARGIN_SECONDS, may_still_arrive, posted_at
from chassis.audit import AuditTrail, Stage
from chassis.errors import ConnectorError, NotArrivedYet, PermanentError
from events.approvals import ApprovalSignal, Decision, SignalSource
from events.commands import ApplyVismaAction
from events.deliveries import SinkDelivery
from events.slack_events import SlackEventReceived

log = logging.getLogger(__name__)

GESTURES = Counter("mlc_approval_gestures_total", "Slack gestures handled, by outcome", ["outcome"])

MEMORY = 10_000
"""Recently finished event ids and signal ids kept to skip Slack retries without new work."""

_MENTION = re.compile(r"<[@!#][^>]*>")


class Outcome(StrEnum):
    ACTIONED = "actioned"
    NOT_AN_APPROVER = "not_an_approver"
    NO_ACTION = "no_action_configured"
    NOT_A_DECISION = "not_a_decision"
    DIGEST = "digest"
    OWN_REPLY = "own_reply"
    NO_POLICY = "no_policy"
    DUPLICATE = "duplicate"
    NO_USER = "no_user"
    NOT_OURS = "not_a_connector_message"


class MessageNotInLedgerYet(NotArrivedYet):
    """No ledger entry of the Slack sink names the gesture's message yet: it may be on its
    way (the sink posts first and writes DONE after), so the gesture is tried again."""


class MessageNeverInLedger(PermanentError):
    """The gesture's message got no ledger entry within the budget: not a message the
    connector posted, or its entry was lost. The gesture goes to the DLQ with this reason."""


class PostedIndex(Protocol):
    async def wait_for(
        self, channel_id: str, ts: str, *, seconds: float
    ) -> SinkDelivery | None: ...

    def pending_around(self, channel_id: str, moment: datetime, *, margin: timedelta) -> bool: ...


class Outbox(Protocol):
    """Where the desk's output goes; `flush` returns once all of it is durable."""

    def signal(self, signal: ApprovalSignal) -> None: ...
    def action(self, command: ApplyVismaAction) -> None: ...
    async def flush(self) -> None: ...


def derived_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def first_word(text: str | None) -> str | None:
    """The reply's first word, lower-cased, mentions and punctuation removed."""
    words = _MENTION.sub(" ", text or "").split()
    return words[0].strip(".,!:;?*_~").lower() if words else None


@dataclass(frozen=True)
class Gesture:
    decision: Decision
    source: SignalSource
    shown: str


def read_gesture(event: SlackEventReceived, policy: Policy) -> Gesture | None:
    if event.event_type == "reaction_added" and event.reaction:
        decision = policy.gestures.reaction(event.reaction)
        return Gesture(decision, SignalSource.REACTION, f":{event.reaction}:") if decision else None
    word = first_word(event.text)
    decision = policy.gestures.keyword(word) if word else None
    return Gesture(decision, SignalSource.REPLY, (event.text or "")[:200]) if decision else None


class _Recent:
    """A bounded memory of ids, oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._ids

    def add(self, key: str) -> None:
        self._ids[key] = None
        self._ids.move_to_end(key)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)


class ApprovalDesk:
    def __init__(
        self,
        *,
        config: ApprovalsConfig,
        posted: PostedIndex,
        approvers: Approvers,
        outbox: Outbox,
        audit: AuditTrail,
        match_wait_seconds: float,
        ledger_read_through: Callable[[], datetime | None],
        ledger_budget_seconds: float = LEDGER_BUDGET_SECONDS,
        foreign_margin_seconds: float = FOREIGN_MARGIN_SECONDS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`ledger_read_through` says up to when the ledger view has read every record
        (`CompactedView.read_through`)."""
        self._config = config
        self._posted = posted
        self._approvers = approvers
        self._outbox = outbox
        self._audit = audit
        self._match_wait = match_wait_seconds
        self._ledger_budget = ledger_budget_seconds
        self._read_through = ledger_read_through
        self._foreign_margin = timedelta(seconds=foreign_margin_seconds)
        self._now = now
        self._events = _Recent(MEMORY)
        self._signals = _Recent(MEMORY)
        self._awaiting = _Recent(MEMORY)
        """Gestures already audited as waiting for their ledger entry."""

    async def handle(self, event: SlackEventReceived) -> Outcome:
        if event.event_id in self._events:
            GESTURES.labels(Outcome.DUPLICATE.value).inc()
            return Outcome.DUPLICATE
        outcome = await self._handle(event)
        self._events.add(event.event_id)
        GESTURES.labels(outcome.value).inc()
        log.info(
            "slack gesture handled",
            extra={"outcome": outcome.value, "event_id": event.event_id, "key": event.key},
        )
        return outcome

    async def _handle(self, event: SlackEventReceived) -> Outcome:
        if event.user is None:
            return Outcome.NO_USER
        reaction = event.reaction if event.event_type == "reaction_added" else None
        if not self._config.may_be_decision(reaction=reaction, word=first_word(event.text)):
            return Outcome.NOT_A_DECISION
        read_through = self._read_through()  # before the lookup: all it covers was indexed
        posted = await self._posted.wait_for(
            event.channel, event.message_ts, seconds=self._match_wait
        )
        if posted is None:
            if not self._may_still_arrive(event, read_through):
                self._skipped(event.key, event, "ignored: not a connector message")
                return Outcome.NOT_OURS
            raise self._not_in_ledger(event)
        if posted.rule == CONFIRMATION_RULE:
            return Outcome.OWN_REPLY
        entity_id = posted.entity_id or posted.command_id
        if posted.digest or posted.tenant_id is None or posted.entity_type is None:
            self._skipped(entity_id, event, "ignored: a digest or a message about no one record")
            return Outcome.DIGEST
        company_id = posted.company_id or _company_of(entity_id, posted.tenant_id)
        workspace, _ = workspace_and_channel(posted)
        policy = self._config.policy_for(
            tenant_id=posted.tenant_id, company_id=company_id, workspace=workspace
        )
        if policy is None:
            self._skipped(entity_id, event, "ignored: no approvals configured for this tenant")
            return Outcome.NO_POLICY
        gesture = read_gesture(event, policy)
        if gesture is None:
            return Outcome.NOT_A_DECISION
        signal_id = derived_id(
            "approval", event.team_id, event.channel, event.message_ts, event.user, gesture.decision
        )
        if signal_id in self._signals:
            return Outcome.DUPLICATE
        approver = await self._approvers.approver_for(
            event.user, policy, company_id=company_id, workspace=workspace
        )
        signal = self._signal(event, posted, gesture, signal_id, company_id, approver)
        outcome = await self._decide(signal, posted, policy, approver)
        self._signals.add(signal_id)
        return outcome

    def _may_still_arrive(self, event: SlackEventReceived, read_through: datetime | None) -> bool:
        """Whether the ledger entry of the gesture's message may still come (see
        `approvals.provenance`); if not, the message is not one the connector posted."""
        posted = posted_at(event.message_ts)
        margin = self._foreign_margin
        return may_still_arrive(
            posted=posted,
            read_through=read_through,
            pending_nearby=posted is not None
            and self._posted.pending_around(event.channel, posted, margin=margin),
            margin=margin,
        )

    def _not_in_ledger(self, event: SlackEventReceived) -> ConnectorError:
        """The error for a gesture whose message is not in the ledger: retryable until the
        budget, counted from the gesture's arrival, is spent; permanent (the DLQ) after."""
        message = f"message {event.channel}/{event.message_ts}"
        waited = (self._now() - event.received_at).total_seconds()
        if waited >= self._ledger_budget:
            GESTURES.labels("no_ledger_entry").inc()
            return MessageNeverInLedger(
                f"no Slack sink ledger entry for {message} within {self._ledger_budget:.0f}s "
                f"of the gesture ({waited:.0f}s): not a message the connector posted, or its "
                "entry was lost"
            )
        GESTURES.labels("awaiting_ledger").inc()
        if event.event_id not in self._awaiting:
            self._awaiting.add(event.event_id)
            self._audit.record(
                Stage.RETRIED,
                entity_id=event.key,
                event_id=event.event_id,
                external_id=event.message_ts,
                detail=f"waiting for the Slack sink's ledger entry of {message}; retried for "
                f"up to {self._ledger_budget:.0f}s from the gesture",
            )
        return MessageNotInLedgerYet(f"no Slack sink ledger entry for {message} yet")

    async def _decide(
        self, signal: ApprovalSignal, posted: SinkDelivery, policy: Policy, approver: str | None
    ) -> Outcome:
        self._audit.record(
            Stage.READ,
            entity_id=signal.entity_id,
            event_id=signal.signal_id,
            external_id=signal.message_ts,
            detail=f"approval signal: {signal.decision} by {signal.user} via {signal.source} "
            f"{signal.gesture}"[:500],
        )
        self._outbox.signal(signal)
        if approver is None:
            return await self._ignored(
                signal, f"not an approver ({signal.user})", Outcome.NOT_AN_APPROVER
            )
        spec = policy.action_for(signal.entity_type, signal.decision)
        if spec is None:
            return await self._ignored(
                signal,
                f"no Visma action for {signal.decision} on {signal.entity_type}",
                Outcome.NO_ACTION,
            )
        command = self._action(signal, posted, spec, approver)
        self._audit.record(
            Stage.ROUTED,
            entity_id=signal.entity_id,
            event_id=signal.signal_id,
            command_id=command.command_id,
            detail=f"authorised: {approver} may {signal.decision}; Visma action {spec.action}",
        )
        self._outbox.action(command)
        await self._outbox.flush()
        return Outcome.ACTIONED

    async def _ignored(self, signal: ApprovalSignal, why: str, outcome: Outcome) -> Outcome:
        """An audited signal that changes nothing in Visma."""
        self._audit.record(
            Stage.SKIPPED,
            entity_id=signal.entity_id,
            event_id=signal.signal_id,
            detail=f"ignored: {why}",
        )
        await self._outbox.flush()
        return outcome

    def _signal(
        self,
        event: SlackEventReceived,
        posted: SinkDelivery,
        gesture: Gesture,
        signal_id: str,
        company_id: str,
        approver: str | None,
    ) -> ApprovalSignal:
        assert event.user is not None
        assert posted.tenant_id is not None
        assert posted.entity_type is not None
        return ApprovalSignal(
            signal_id=signal_id,
            slack_event_id=event.event_id,
            team_id=event.team_id,
            channel_id=event.channel,
            message_ts=event.message_ts,
            user=event.user,
            decision=gesture.decision,
            source=gesture.source,
            gesture=gesture.shown,
            tenant_id=posted.tenant_id,
            company_id=company_id,
            entity_type=posted.entity_type,
            entity_id=posted.entity_id or posted.command_id,
            posted_command_id=posted.command_id,
            authorised=approver is not None,
            reason=None if approver is not None else "not an approver",
            event_time=_millis(event.event_time),
            created_at=_millis(self._now()),
        )

    def _action(
        self, signal: ApprovalSignal, posted: SinkDelivery, spec: ActionSpec, approver: str
    ) -> ApplyVismaAction:
        fields = {"decision": signal.decision.value.capitalize(), "approver": approver,
                  "user": signal.user}  # fmt: skip
        workspace, channel = workspace_and_channel(posted)
        return ApplyVismaAction(
            # Per message and decision, not per person: two approvers approve once.
            command_id=derived_id("visma-action", posted.command_id, signal.decision, spec.action),
            tenant_id=signal.tenant_id,
            company_id=signal.company_id,
            action=spec.action,
            comment=spec.comment.format_map(_Known(fields)),
            rule=CONFIRMATION_RULE,
            source_event_id=signal.signal_id,
            entity_type=signal.entity_type,
            entity_id=signal.entity_id,
            created_at=signal.created_at,
            # The writer tells the outcome in the message's thread.
            reply_workspace=workspace,
            reply_channel=channel,
            reply_thread_ts=signal.message_ts,
            requested_by=signal.user,
            decision=signal.decision.value,
        )

    def _skipped(self, entity_id: str, event: SlackEventReceived, detail: str) -> None:
        self._audit.record(
            Stage.SKIPPED,
            entity_id=entity_id,
            event_id=event.event_id,
            external_id=event.message_ts,
            detail=detail,
        )


class _Known(dict[str, str]):
    """Leaves an unknown placeholder as written instead of failing the whole action."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _company_of(entity_id: str, tenant_id: str) -> str:
    """The company from an entity key `tenant/company/type/id` (v1 ledger entries lack it)."""
    parts = entity_id.split("/")
    return parts[1] if len(parts) >= 4 and parts[0] == tenant_id else tenant_id


def _millis(moment: datetime) -> datetime:
    """Avro keeps milliseconds; rounding here keeps re-sent records byte-identical."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
