"""Purchase receipts written by the Visma writer process, on the real broker, into the
Visma sandbox: one receipt per RecordPurchaseReceipt, whatever is repeated or killed.

The sandbox lists each order's receipts, so "exactly one" is counted where it matters, in
Visma. The commands are produced twice and later redelivered from the start of the topic;
one create meets a 412; and the writer is SIGKILLed five times between Visma's 201 (the
receipt exists) and the ledger's DONE, at a random point of an answer the sandbox holds back.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from events.deliveries import DeliveryStatus
from events.visma_writes import RecordPurchaseReceipt
from mlc.stack import FlowStack
from tests.e2e.test_visma_writer import COMPANY, PARTITIONS, WriterRun

pytestmark = pytest.mark.e2e

RECEIPTS = "/v1/PurchaseReceipt"


def receipt(order: str) -> RecordPurchaseReceipt:
    return RecordPurchaseReceipt(
        command_id=f"receipt-{COMPANY}-{order}",
        tenant_id=COMPANY,
        company_id=COMPANY,
        order_number=order,
        source_system="monday",
        source_ref=f"4001/{order}",
        rule="monday-receipts",
        source_event_id=f"monday-{order}",
        entity_type="purchaseOrder",
        entity_id=f"{COMPANY}/{COMPANY}/purchaseOrder/RegularOrder:{order}",
        created_at=datetime.now(UTC),
    )


class ReceiptRun(WriterRun):
    def new_order(self) -> str:
        lines = [{"lineNbr": 1, "inventoryNumber": "ART-1", "orderQty": 4.0, "unitCost": 25.0}]
        body = {"company": COMPANY, "fields": {"status": "Open", "lines": lines}}
        return str(self.admin("POST", "/entities/purchaseOrder", body)["orderNbr"])

    def receipts(self, order: str) -> int:
        return len(self.receipt_numbers(order))

    def receipt_numbers(self, order: str) -> list[str]:
        listed = self.admin("GET", f"/purchase-orders/{COMPANY}/{order}/receipts")
        return [str(r["receiptNbr"]) for r in listed["receipts"]]

    def done_as(self) -> dict[str, str | None]:
        """Command id -> the receipt number its DONE names (None: sent to review)."""
        done = [e for e in self.entries() if e.status is DeliveryStatus.DONE]
        return {e.command_id: e.external_id for e in done}

    def rewind(self) -> None:
        """The writer's group back to offset 0: every command is delivered again."""
        admin = AdminClient(self.settings.client_config("test"))
        tps = [TopicPartition(self.commands, p, 0) for p in range(PARTITIONS)]
        futures = admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(self.group, tps)]
        )
        for future in futures.values():
            future.result(timeout=30)


@pytest.fixture
def run(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> ReceiptRun:
    stack = make_stack(invoices=5)
    # A static member, as a pod: a restarted writer takes over without waiting out a session.
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"writer-{stack.run_id}")
    stack.start_sandbox()
    return ReceiptRun(stack, kafka_bootstrap)


def test_a_receipt_produced_twice_redelivered_and_refused_once_with_412_is_written_once(
    run: ReceiptRun,
) -> None:
    orders = [run.new_order() for _ in range(3)]
    run.admin("POST", "/faults", {"status": 412, "method": "POST", "path_prefix": RECEIPTS,
                                  "times": 1})  # fmt: skip
    writer = run.stack.start("visma-writer")
    commands = [receipt(order) for order in orders]

    run.send(*commands, *commands)  # produced twice
    wanted = {c.command_id for c in commands}
    run.wait("every receipt DONE", lambda: run.done() >= wanted)
    run.wait("every command handled", run.all_handled)
    assert run.admin("GET", "/faults/fired")["by_status"] == {"412": 1}

    writer.stop()
    run.rewind()  # redelivered from the start of the topic
    run.stack.start("visma-writer")
    run.wait("every command handled again", run.all_handled)

    assert {order: run.receipts(order) for order in orders} == {order: 1 for order in orders}
    assert run.done_as() == {
        receipt(order).command_id: run.receipt_numbers(order)[0] for order in orders
    }, "each command's DONE names its one receipt"


def test_sigkill_between_vismas_201_and_done_never_makes_a_second_receipt(
    run: ReceiptRun,
) -> None:
    rng = random.Random()
    orders: list[str] = []
    for _ in range(5):
        order = run.new_order()
        orders.append(order)
        hold = round(rng.uniform(1.0, 4.0), 2)  # the answer comes back this much later
        run.admin("POST", "/faults", {"method": "POST", "path_prefix": RECEIPTS, "times": 1,
                                      "delay_after_seconds": hold})  # fmt: skip
        writer = run.stack.start("visma-writer")
        run.send(receipt(order))
        run.wait("the receipt made in Visma", lambda o=order: run.receipts(o) == 1)
        writer.kill()
        assert receipt(order).command_id not in run.done(), "killed before the ledger's DONE"

    run.admin("DELETE", "/faults")
    run.stack.start("visma-writer")
    wanted = {receipt(order).command_id for order in orders}
    run.wait("every receipt DONE", lambda: run.done() >= wanted, timeout=120)
    run.wait("every command handled", run.all_handled)

    assert {order: run.receipts(order) for order in orders} == {order: 1 for order in orders}
    # Each found in Visma by the lookup, not merely refused as an order already received.
    assert run.done_as() == {
        receipt(order).command_id: run.receipt_numbers(order)[0] for order in orders
    }
