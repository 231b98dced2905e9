"""RecordPurchaseReceipt on the shared machinery, against the Visma sandbox in process:
one receipt per command whatever is repeated, interrupted or changed meanwhile."""

from __future__ import annotations

import pytest
from receipts_kit import COMPANY, ReceiptHarness, receipt_command

from events.deliveries import DeliveryStatus
from visma_writer.ledger import KeptChangingError, UnknownCompanyError, ledger_entry

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _numbers(listed: dict[str, object]) -> list[str]:
    receipts = listed["receipts"]
    assert isinstance(receipts, list)
    return [str(r["receiptNbr"]) for r in receipts]


async def test_a_receipt_is_written_once_with_the_commands_mark_and_the_ledger_says_so() -> None:
    h = ReceiptHarness()
    order = await h.order()

    number = await h.writer.apply(receipt_command(order))
    again = await h.writer.apply(receipt_command(order))

    listed = await h.receipts(order)
    assert _numbers(listed) == [number]
    assert again == number
    assert listed["status"] == "Completed"
    (receipt,) = listed["receipts"]  # type: ignore[misc]
    assert receipt["note"] == "ml-connector: received in monday 4001/9001 by warehouse [cmd-1]"
    assert [line["receiptQty"] for line in receipt["lines"]] == [5.0, 2.0]
    assert [(e.status, e.external_id is not None) for e in h.ledger.writes] == [
        (DeliveryStatus.PENDING, True),
        (DeliveryStatus.DONE, True),
    ]
    assert h.ledger.writes[-1].external_id == number
    assert h.audit.stages() == ["sent", "skipped"]


async def test_an_attempt_that_died_before_done_finds_its_receipt_instead_of_making_another() -> (
    None
):
    h = ReceiptHarness()
    order = await h.order()
    number = await h.writer.apply(receipt_command(order))
    pending = next(e for e in h.ledger.writes if e.status is DeliveryStatus.PENDING)
    h.ledger.entries["cmd-1"] = pending  # as if the writer died between Visma's 201 and DONE

    found = await h.writer.apply(receipt_command(order))

    assert found == number
    assert _numbers(await h.receipts(order)) == [number]
    assert h.ledger.entries["cmd-1"].status is DeliveryStatus.DONE
    assert "found in Visma after an interrupted attempt" in h.audit.events[-1]["detail"]


async def test_a_412_on_the_create_looks_up_reads_again_and_writes_once() -> None:
    h = ReceiptHarness()
    order = await h.order()
    await h.fault(status=412, path_prefix="/v1/PurchaseReceipt", method="POST", times=1)

    number = await h.writer.apply(receipt_command(order))

    assert _numbers(await h.receipts(order)) == [number]
    assert h.audit.stages() == ["retried", "sent"]


async def test_a_write_refused_with_412_every_time_is_retried_later_not_forced() -> None:
    h = ReceiptHarness()
    order = await h.order()
    await h.fault(status=412, path_prefix="/v1/PurchaseReceipt", method="POST", times=None)

    with pytest.raises(KeptChangingError):
        await h.writer.apply(receipt_command(order))

    assert _numbers(await h.receipts(order)) == []
    assert h.audit.stages() == ["retried"] * 3


async def test_an_order_someone_received_in_visma_meanwhile_goes_to_review_not_a_second_receipt(
) -> None:  # fmt: skip
    h = ReceiptHarness()
    order = await h.order(quantities=(5,))
    await h.receive_by_hand(order, line=1, quantity=5)

    written = await h.writer.apply(receipt_command(order, command_id="cmd-1"))

    assert written is None
    assert len(_numbers(await h.receipts(order))) == 1
    (conflict,) = h.review.sent
    assert (conflict.command, conflict.command_id) == ("RecordPurchaseReceipt", "cmd-1")
    assert conflict.document == f"purchase order {order}"
    assert [(d.field, d.expected, d.found) for d in conflict.differences] == [
        ("status", "Open", "Completed"),
        ("lines.qtyOnReceipts", "less than ordered (5)", "5 already on receipts"),
    ]
    entry = h.ledger.entries["cmd-1"]
    assert (entry.status, entry.external_id) == (DeliveryStatus.DONE, None)
    assert h.audit.stages()[-1] == "failed"
    assert "sent to review" in h.audit.events[-1]["detail"]


async def test_an_order_on_hold_is_reviewed_and_left_alone() -> None:
    h = ReceiptHarness()
    order = await h.order(status="On Hold")

    assert await h.writer.apply(receipt_command(order)) is None

    assert _numbers(await h.receipts(order)) == []
    assert [(d.field, d.found) for d in h.review.sent[0].differences] == [("status", "On Hold")]


async def test_a_partly_received_order_gets_a_receipt_of_what_is_left() -> None:
    h = ReceiptHarness()
    order = await h.order(quantities=(5, 2))
    posted = await h.admin.post(
        "/visma/_sandbox/entities/purchaseReceipt",
        json={"company": COMPANY, "fields": {}},
    )
    assert posted.status_code == 201  # an unrelated receipt: the lookup must not take it
    await h.receive_by_hand(order, line=1, quantity=3)

    number = await h.writer.apply(receipt_command(order))

    listed = await h.receipts(order)
    ours = [r for r in listed["receipts"] if r["receiptNbr"] == number]  # type: ignore[attr-defined]
    assert [line["receiptQty"] for line in ours[0]["lines"]] == [2.0, 2.0]
    assert listed["status"] == "Completed"


async def test_a_company_without_credentials_is_a_permanent_error() -> None:
    h = ReceiptHarness()
    command = receipt_command("PO-1").model_copy(update={"company_id": "elsewhere"})

    with pytest.raises(UnknownCompanyError):
        await h.writer.apply(command)


def test_ledger_entries_of_a_receipt_name_its_order() -> None:
    entry = ledger_entry(receipt_command("PO-9"), DeliveryStatus.DONE, "PR000001", at=START_AT)
    assert (entry.entity_type, entry.destination, entry.sink) == (
        "purchaseOrder", COMPANY, "visma-writer"
    )  # fmt: skip


START_AT = receipt_command("PO-0").created_at
