"""The writer tells the requester's thread what Visma did: once, after the fact, or nothing."""

from __future__ import annotations

import asyncio

import pytest
from writer_harness import Harness, command

from chassis.kafka.record import Held, Record
from events.commands import ApplyVismaAction
from visma_client import VismaRequestRejected
from visma_writer.handler import ApplyVismaActionHandler
from visma_writer.writer import KeptChangingError, Outcome, UnknownCompanyError

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ID = "Invoice:000123"
RELEASED = "Approved by <@U-ANN>: invoice 000123 released in Visma."


def record(
    cmd: ApplyVismaAction, *, attempts: int = 1, retry_deadline: float | None = None
) -> Record:
    return Record(
        topic="sink.visma-writer.v1", partition=0, offset=7, key=cmd.key, raw=b"", headers=[],
        value=cmd.to_record(), attempts=attempts, retry_deadline=retry_deadline,
    )  # fmt: skip


async def test_an_applied_action_is_told_in_the_requesters_thread(harness: Harness) -> None:
    harness.visma.add(ID, "Balanced")
    assert await harness.writer.apply(command(reply=True)) is Outcome.APPLIED
    [reply] = harness.replies.sent
    assert reply.text == RELEASED
    assert (reply.workspace, reply.channel, reply.thread_ts) == ("T1", "C1", "1700.01")
    assert reply.rule == "approvals", "the desk must recognise reactions on it as its own"
    assert reply.command_id != "cmd-1"
    assert reply.approved_by == "U-ANN", "the sink shows the approver on the document's message"


async def test_a_redelivered_command_repeats_the_same_reply_for_the_sink_to_drop(
    harness: Harness,
) -> None:
    harness.visma.add(ID, "Balanced")
    await harness.writer.apply(command(reply=True))
    # The ledger says DONE; the writer may have died before its reply was durable.
    assert await harness.writer.apply(command(reply=True)) is Outcome.ALREADY_DONE
    first, repeat = harness.replies.sent
    assert repeat == first, "same command id and bytes: the Slack sink posts it once"
    assert harness.visma.count(ID) == 1


async def test_an_action_already_in_effect_is_told_as_done(harness: Harness) -> None:
    harness.visma.add(ID, "Open")
    assert await harness.writer.apply(command(reply=True)) is Outcome.ALREADY_IN_EFFECT
    assert harness.replies.texts() == [RELEASED]


async def test_a_rejection_note_is_told_with_its_own_wording(harness: Harness) -> None:
    harness.visma.add(ID, "Balanced")
    await harness.writer.apply(command(action="note", comment="Rejected", reply=True,
                                       decision="reject"))  # fmt: skip
    assert harness.replies.texts() == ["Rejected by <@U-ANN>: invoice 000123: note added in Visma."]
    assert [r.approved_by for r in harness.replies.sent] == [None]  # a rejection approves nothing


async def test_a_command_without_a_thread_is_applied_without_a_reply(harness: Harness) -> None:
    harness.visma.add(ID, "Balanced")
    handler = ApplyVismaActionHandler(
        harness.writer, credentials=harness.companies, audit=harness.audit.trail
    )
    await handler(record(command()))
    with pytest.raises(UnknownCompanyError):
        await handler(record(command(company="nowhere", command_id="cmd-2")))
    assert harness.visma.count(ID) == 1
    assert harness.replies.sent == []


async def test_a_permanent_failure_is_told_before_the_command_is_dead_lettered(
    harness: Harness,
) -> None:
    harness.visma.add(ID, "OnHold")  # release does not apply to an invoice on hold
    handler = ApplyVismaActionHandler(
        harness.writer, credentials=harness.companies, audit=harness.audit.trail
    )
    with pytest.raises(VismaRequestRejected):
        await handler(record(command(reply=True)))
    [reply] = harness.replies.sent
    assert reply.text.startswith(
        "Approved by <@U-ANN>: `release` on invoice 000123 could not be applied in Visma: "
    )
    assert len(reply.text) < 320, "a short reason, not a whole error body"
    assert reply.thread_ts == "1700.01"


async def test_a_retryable_failure_is_told_only_once_the_budget_is_spent(
    harness: Harness,
) -> None:
    harness.visma.add(ID, "Balanced")
    harness.visma.concurrent_edits = 100
    handler = ApplyVismaActionHandler(
        harness.writer,
        credentials=harness.companies,
        audit=harness.audit.trail,
        clock=lambda: 1000.0,
    )
    with pytest.raises(KeptChangingError):
        await handler(record(command(reply=True), attempts=1, retry_deadline=1000.5))
    assert harness.replies.sent == [], "the runner retries it: nothing to tell yet"
    with pytest.raises(KeptChangingError):
        await handler(record(command(reply=True), attempts=2, retry_deadline=999.5))
    [reply] = harness.replies.sent
    assert "could not be applied in Visma: gave up after 2 attempts" in reply.text


async def test_refused_credentials_are_held_not_told_as_a_failure() -> None:
    harness = Harness(hold_seconds=0.01)
    harness.visma.add(ID, "Balanced")
    harness.visma.refuse_tokens = 1
    handler = ApplyVismaActionHandler(
        harness.writer, credentials=harness.companies, audit=harness.audit.trail
    )
    with pytest.raises(Held) as held:
        await handler(record(command(reply=True)))
    assert harness.replies.texts() == []
    await asyncio.wait_for(held.value.released(), timeout=5)
    await handler(record(command(reply=True)))
    assert harness.replies.texts() == [RELEASED]
    await harness.companies.aclose()
