"""On the real broker, through the real runner: a ✅ on a message the connector never posted
(older than what the ledger view has read) is ignored at once and audited once, never retried
or dead-lettered; a ✅ that comes just before its message's ledger entry still waits for it
and is actioned, with one audit record for the wait however many attempts it took."""

from __future__ import annotations

import asyncio
import time

import pytest

from events.commands import ApplyVismaAction
from tests.integration.approvals_rig import (
    Rig,
    approval,
    decoded,
    employee,
    gestures,
    ledger_entry,
    message_ts,
    until_more,
)

pytestmark = pytest.mark.integration

IGNORED = "ignored: not a connector message"


def test_a_gesture_on_a_foreign_message_is_ignored_at_once_and_audited_once(
    kafka_bootstrap: str, unique: str
) -> None:
    rig = Rig(kafka_bootstrap, unique)  # the default ledger budget: 24 hours
    t = rig.topics
    rig.send(t.ledger.name, ledger_entry(1).command_id, ledger_entry(1))  # another message
    foreign = approval(2, ts=message_ts(2, posted=time.time() - 3600))  # a person's, an hour ago
    rig.send(t.events.name, foreign.key, foreign)
    rig.flush()
    since = rig.audit_marks()
    ignored, waiting = gestures("not_a_connector_message"), gestures("awaiting_ledger")

    async def scenario() -> float:
        async with rig.running():
            started = time.monotonic()
            await until_more("not_a_connector_message", ignored, within=60)
            return time.monotonic() - started

    took = asyncio.run(scenario())
    assert gestures("awaiting_ledger") == waiting  # never waited, never retried
    audit = asyncio.run(rig.audit_of(foreign.key, since=since))
    assert [(a["stage"], a["detail"]) for a in audit] == [("skipped", IGNORED)]
    assert rig.committed(t.events.name) == 1  # the partition's offset moved past it
    assert took < 30


def test_a_gesture_just_before_its_ledger_entry_waits_with_one_audit_record_and_is_actioned(
    kafka_bootstrap: str, unique: str
) -> None:
    rig = Rig(kafka_bootstrap, unique)
    t = rig.topics
    ts = message_ts(3, posted=time.time())  # posted just now: its DONE entry is on its way
    early = approval(3, ts=ts)
    rig.send(t.employees.name, employee().key, employee())
    rig.send(t.events.name, early.key, early)
    rig.flush()
    since = rig.audit_marks()
    waiting = gestures("awaiting_ledger")

    async def scenario() -> ApplyVismaAction:
        async with rig.running():
            for attempt in range(3):  # the runner tried it three times
                await until_more("awaiting_ledger", waiting + attempt, within=60)
            rig.send(t.ledger.name, ledger_entry(3).command_id, ledger_entry(3, ts=ts))
            await asyncio.to_thread(rig.flush)
            action = await rig.first(t.actions.name, within=60)
        return ApplyVismaAction.from_record(decoded(action))

    command = asyncio.run(scenario())
    assert (command.entity_id, command.action) == (ledger_entry(3).entity_id, "release")
    audit = asyncio.run(rig.audit_of(early.key, since=since))
    assert [a["stage"] for a in audit] == ["retried"]  # one for the wait, none per attempt
    assert "waiting for the Slack sink's ledger entry" in audit[0]["detail"]
