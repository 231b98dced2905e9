"""On the real broker: the approvals service starts consuming gestures only after its views
of the Slack sink's ledger and of the employees hold everything that was there at start.

The ledger and employee topics are filled first (the entries a gesture needs last, behind
many others), then a gesture waits on the events topic when the service starts. Consuming
before the views have caught up drops the gesture (no ledger entry yet) or finds no approver
(no employee record yet); caught up, the gesture is authorised on its first attempt.
"""

from __future__ import annotations

import asyncio

import pytest

from events.approvals import ApprovalSignal
from events.commands import ApplyVismaAction
from tests.integration.approvals_rig import (
    Rig,
    approval,
    decoded,
    employee,
    gestures,
    ledger_entry,
)

pytestmark = pytest.mark.integration

ENTRIES = 120_000
"""Ledger entries before the one the gesture needs (employee records: a hundredth of that).
Fewer, and the views can catch up before the runner has joined its group at all."""


def test_gestures_wait_for_the_ledger_and_employee_views(kafka_bootstrap: str, unique: str) -> None:
    rig = Rig(kafka_bootstrap, unique)
    t = rig.topics
    for n in range(ENTRIES + 1):
        entry = ledger_entry(n)
        rig.send(t.ledger.name, entry.command_id, entry)
    for n in range(ENTRIES // 100):
        person = employee(f"E{n:05d}", f"person{n}@example.se")
        rig.send(t.employees.name, person.key, person)
    rig.send(t.employees.name, employee().key, employee())
    rig.send(t.events.name, approval(ENTRIES).key, approval(ENTRIES))
    rig.flush()
    before = {o: gestures(o) for o in ("awaiting_ledger", "not_an_approver", "actioned")}

    async def scenario() -> tuple[ApprovalSignal, ApplyVismaAction]:
        async with rig.running():
            signal = await rig.first(t.signals.name, within=60)
            action = await rig.first(t.actions.name, within=30)
        return (ApprovalSignal.from_record(decoded(signal)),
                ApplyVismaAction.from_record(decoded(action)))  # fmt: skip

    signal, command = asyncio.run(scenario())

    assert signal.authorised  # the employee view had the approver
    assert (command.entity_id, command.action) == (ledger_entry(ENTRIES).entity_id, "release")
    assert gestures("awaiting_ledger") == before["awaiting_ledger"]  # found at the first try
    assert gestures("not_an_approver") == before["not_an_approver"]
    assert gestures("actioned") == before["actioned"] + 1
