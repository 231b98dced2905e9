"""VismaWriter: each command applied once, through redelivery, 412s and interrupted attempts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from writer_harness import Harness, command

from chassis.errors import PermanentError, RetryableError
from events.deliveries import DeliveryStatus, SinkDelivery
from visma_client import VismaRequestRejected, VismaServerError, VismaUnavailable
from visma_writer.writer import (
    KeptChangingError,
    Outcome,
    OutcomeUnknownError,
    UnknownCompanyError,
    UnsupportedEntityError,
)

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ID = "Invoice:000123"


def pending(etag: str) -> SinkDelivery:
    return SinkDelivery(
        command_id="cmd-1", sink="visma-writer", status=DeliveryStatus.PENDING,
        destination="c1", external_id=etag, at=datetime(2026, 3, 1, tzinfo=UTC),
    )  # fmt: skip


async def test_an_action_is_applied_once_with_pending_before_and_done_after(
    harness: Harness,
) -> None:
    harness.visma.add(ID, "Balanced")
    assert await harness.writer.apply(command()) is Outcome.APPLIED
    assert harness.visma.count(ID) == 1
    assert harness.visma.invoices[ID].status == "Open"
    assert harness.ledger_trail() == [("PENDING", "7001"), ("DONE", "7002")]
    assert harness.audit.stages() == ["sent"]
    assert harness.audit.events[0]["command_id"] == "cmd-1"


async def test_a_redelivered_command_is_skipped_by_the_ledger(harness: Harness) -> None:
    harness.visma.add(ID, "Balanced")
    await harness.writer.apply(command())
    assert await harness.writer.apply(command()) is Outcome.ALREADY_DONE
    assert harness.visma.count(ID) == 1
    assert harness.audit.stages() == ["sent", "skipped"]


async def test_an_action_already_in_effect_is_not_applied_again(harness: Harness) -> None:
    harness.visma.add(ID, "Open")
    assert await harness.writer.apply(command()) is Outcome.ALREADY_IN_EFFECT
    assert harness.visma.count(ID) == 0
    assert [r.method for r in harness.visma.requests] == ["GET"]
    assert harness.ledger_trail() == [("DONE", "7001")]
    assert harness.audit.stages() == ["skipped"]


async def test_a_412_is_read_again_checked_again_and_retried(harness: Harness) -> None:
    harness.visma.add(ID, "Balanced")
    harness.visma.concurrent_edits = 1
    assert await harness.writer.apply(command()) is Outcome.APPLIED
    assert harness.visma.count(ID) == 1
    assert [r.method for r in harness.visma.requests] == ["GET", "POST", "GET", "POST"]
    # The PENDING entry always names the ETag of the attempt about to be made.
    assert harness.ledger_trail() == [("PENDING", "7001"), ("PENDING", "7002"), ("DONE", "7003")]
    assert harness.audit.stages() == ["retried", "sent"]


async def test_a_412_from_someone_applying_the_same_action_ends_in_effect(
    harness: Harness,
) -> None:
    invoice = harness.visma.add(ID, "Balanced")

    def released_by_someone_else(_: object) -> None:
        invoice.status, invoice.version = "Open", invoice.version + 1
        harness.visma.on_write = None

    harness.visma.on_write = released_by_someone_else
    assert await harness.writer.apply(command()) is Outcome.ALREADY_IN_EFFECT
    assert harness.visma.count(ID) == 0
    assert harness.audit.stages() == ["retried", "skipped"]


async def test_an_invoice_that_keeps_changing_is_retried_later(harness: Harness) -> None:
    harness.visma.add(ID, "Balanced")
    harness.visma.concurrent_edits = 100
    with pytest.raises(KeptChangingError) as caught:
        await harness.writer.apply(command())
    assert isinstance(caught.value, RetryableError)
    assert harness.visma.count(ID) == 0
    assert [r.method for r in harness.visma.requests].count("POST") == 3


async def test_a_server_error_after_applying_is_not_applied_twice_on_retry(
    harness: Harness,
) -> None:
    harness.visma.add(ID, "Balanced")
    harness.visma.fail_writes = [(500, True)]  # applied, but the answer is lost
    with pytest.raises(VismaServerError):
        await harness.writer.apply(command())
    assert harness.ledger_trail() == [("PENDING", "7001")]
    assert await harness.writer.apply(command()) is Outcome.ALREADY_IN_EFFECT
    assert harness.visma.count(ID) == 1
    assert harness.audit.stages() == ["sent"]
    assert "interrupted" in harness.audit.events[0]["detail"]


async def test_a_server_error_before_applying_is_applied_on_retry(harness: Harness) -> None:
    harness.visma.add(ID, "Balanced")
    harness.visma.fail_writes = [(503, False)]
    with pytest.raises(VismaUnavailable):
        await harness.writer.apply(command())
    assert await harness.writer.apply(command()) is Outcome.APPLIED
    assert harness.visma.count(ID) == 1


async def test_an_interrupted_action_without_a_readable_effect_goes_on_if_nothing_changed(
    harness: Harness,
) -> None:
    harness.visma.add(ID, "Open")
    await harness.ledger.write(pending("7001"))
    assert await harness.writer.apply(command(action="writeoff")) is Outcome.APPLIED
    assert harness.visma.count(ID, "writeoff") == 1


async def test_an_interrupted_action_without_a_readable_effect_goes_to_a_human_if_changed(
    harness: Harness,
) -> None:
    harness.visma.add(ID, "Closed").version = 7002  # writeoff may have happened
    await harness.ledger.write(pending("7001"))
    with pytest.raises(OutcomeUnknownError) as caught:
        await harness.writer.apply(command(action="writeoff"))
    assert isinstance(caught.value, PermanentError)
    assert harness.visma.count(ID, "writeoff") == 0


async def test_a_note_is_written_once_and_recognised_afterwards(harness: Harness) -> None:
    harness.visma.add(ID, "Balanced")
    note = command(action="note", comment="Rejected in Slack by Ann")
    assert await harness.writer.apply(note) is Outcome.APPLIED
    assert harness.visma.invoices[ID].note == "Rejected in Slack by Ann"
    again = command(action="note", comment="Rejected in Slack by Ann", command_id="cmd-2")
    assert await harness.writer.apply(again) is Outcome.ALREADY_IN_EFFECT
    assert harness.visma.count(ID, "note") == 1


@pytest.mark.parametrize(
    ("cmd", "error"),
    [
        (command(company="c9"), UnknownCompanyError),
        (command(entity_type="purchaseOrder"), UnsupportedEntityError),
        (command(action="approve"), PermanentError),
    ],
)
async def test_commands_that_cannot_succeed_are_permanent_errors(
    harness: Harness, cmd: object, error: type[Exception]
) -> None:
    harness.visma.add(ID, "Balanced")
    with pytest.raises(error) as caught:
        await harness.writer.apply(cmd)  # type: ignore[arg-type]
    assert isinstance(caught.value, PermanentError)
    assert harness.visma.requests == []


async def test_an_action_visma_refuses_is_permanent(harness: Harness) -> None:
    harness.visma.add(ID, "OnHold")  # release does not apply to an invoice on hold
    with pytest.raises(VismaRequestRejected) as caught:
        await harness.writer.apply(command())
    assert isinstance(caught.value, PermanentError)
    assert harness.visma.count(ID) == 0
