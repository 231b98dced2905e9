"""Telling the person who asked what Visma did: one Slack thread reply per command outcome.

The approvals service only asks; the writer knows whether Visma took the action, so the
writer replies, after the fact, in the thread of the message the person reacted on. A
command without a reply target (the processor's own rules) gets no reply.

A reply's command id is derived from the action's command id and the kind of outcome, so a
redelivered command sends the same reply again and the Slack sink's ledger drops the repeat;
a command that failed, was redriven and then went through still gets its success reply.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from chassis.kafka.confirmed import ConfirmedTopic
from events.commands import ApplyVismaAction
from events.slack import PostSlackMessage
from visma_client.actions import NOTE

DONE_AS: dict[str, str] = {
    "release": "released",
    "prebook": "prebooked",
    "reverse": "reversed",
    "sendtoapproval": "sent for approval",
    "voidinvoice": "voided",
    "writeoff": "written off",
    "correct": "corrected",
    NOTE: "note added",
}
"""How each action reads once done: "invoice 100012 released in Visma"."""

REASON_CHARS = 200


class Replies(Protocol):
    """Where replies go; `send` returns once the reply is durable."""

    async def send(self, message: PostSlackMessage) -> None: ...


class KafkaReplies(ConfirmedTopic):
    """Sends each reply to the Slack sink's command topic and waits for Kafka to take it."""


def applied_reply(command: ApplyVismaAction, *, invoice: str) -> PostSlackMessage | None:
    """The reply for an action Visma has taken (now or earlier), or None without a target."""
    done = DONE_AS.get(command.action, f"`{command.action}` applied")
    colon = ":" if command.action == NOTE else ""
    reply = _reply(
        command, "applied", f"{_lead(command)}: invoice {invoice}{colon} {done} in Visma."
    )
    if reply is None or command.decision == "reject" or command.action == NOTE:
        return reply
    # The document's message shows who approved it (the sink updates it in place).
    return reply.model_copy(update={"approved_by": command.requested_by})


def failed_reply(
    command: ApplyVismaAction, *, invoice: str, reason: str
) -> PostSlackMessage | None:
    """The reply for an action that will not be applied (the command goes to the DLQ)."""
    short = reason.splitlines()[0][:REASON_CHARS] if reason else "unknown reason"
    text = f"`{command.action}` on invoice {invoice} could not be applied in Visma: {short}"
    return _reply(command, "failed", f"{_lead(command)}: {text}")


def _lead(command: ApplyVismaAction) -> str:
    verb = "Rejected" if command.decision == "reject" else "Approved"
    return f"{verb} by <@{command.requested_by}>" if command.requested_by else verb


def _reply(command: ApplyVismaAction, outcome: str, text: str) -> PostSlackMessage | None:
    if not (command.reply_workspace and command.reply_channel and command.reply_thread_ts):
        return None
    return PostSlackMessage(
        command_id=reply_id(command, outcome),
        tenant_id=command.tenant_id,
        company_id=command.company_id,
        workspace=command.reply_workspace,
        channel=command.reply_channel,
        thread_ts=command.reply_thread_ts,
        text=text,
        rule=command.rule,
        source_event_id=command.source_event_id,
        entity_type=command.entity_type,
        entity_id=command.entity_id,
        # The command's time, not now: a repeated reply is byte for byte the same record.
        created_at=command.created_at,
    )


def reply_id(command: ApplyVismaAction, outcome: str) -> str:
    return hashlib.sha256(f"visma-writer-reply|{outcome}|{command.command_id}".encode()).hexdigest()
