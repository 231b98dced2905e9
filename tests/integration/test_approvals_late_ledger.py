"""On the real broker, through the real runner: a gesture that arrives before the Slack
sink's ledger entry of its message is retried until the entry comes, and one whose entry
never comes goes to the approvals' DLQ with the reason once the ledger budget is spent."""

from __future__ import annotations

import asyncio
import time

import pytest

from chassis.kafka.dlq import REASON
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


def test_a_gesture_before_its_ledger_entry_is_actioned_once_the_entry_arrives(
    kafka_bootstrap: str, unique: str
) -> None:
    rig = Rig(kafka_bootstrap, unique)
    t = rig.topics
    ts = message_ts(7, posted=time.time())  # just posted: its entry may still come
    rig.send(t.employees.name, employee().key, employee())
    rig.send(t.events.name, approval(7, ts=ts).key, approval(7, ts=ts))
    rig.flush()
    waiting = gestures("awaiting_ledger")

    async def scenario() -> ApplyVismaAction:
        async with rig.running():
            await until_more("awaiting_ledger", waiting, within=60)  # it found no entry
            rig.send(t.ledger.name, ledger_entry(7).command_id, ledger_entry(7, ts=ts))
            await asyncio.to_thread(rig.flush)
            action = await rig.first(t.actions.name, within=60)
        return ApplyVismaAction.from_record(decoded(action))

    command = asyncio.run(scenario())
    assert (command.entity_id, command.action) == (ledger_entry(7).entity_id, "release")


def test_a_gesture_whose_entry_never_comes_is_dead_lettered_with_the_reason(
    kafka_bootstrap: str, unique: str
) -> None:
    rig = Rig(kafka_bootstrap, unique, ledger_budget_seconds=1.0)
    t = rig.topics
    ts = message_ts(8, posted=time.time())
    rig.send(t.events.name, approval(8, ts=ts).key, approval(8, ts=ts))
    rig.flush()

    async def scenario() -> dict[str, bytes]:
        async with rig.running():
            dead = await rig.first(f"dlq.{rig.settings.group_id}.v1", within=60)
        return {name: bytes(value or b"") for name, value in dead.headers() or []}

    headers = asyncio.run(scenario())
    reason = headers[REASON].decode()
    assert "MessageNeverInLedger" in reason
    assert f"no Slack sink ledger entry for message C0STARTUP/{ts}" in reason
    assert "within 1s of the gesture" in reason
