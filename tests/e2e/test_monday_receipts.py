"""Receipts back from monday, end to end: sandbox, ingress, monday-receipts and the Visma writer
as processes on the real broker.

A warehouse user marks purchase-order items "Received" on the sandbox's procurement board.
One change reaches the connector by webhook (JWT-checked by the ingress); one webhook is
dropped by the sandbox and the reconciliation finds the change on the board. Each order must
get exactly one purchase receipt in the Visma sandbox, counted there. Forged and expired JWTs
are refused with 401 and change nothing. The writer is SIGKILLed while the second receipt's
request is held in flight by the sandbox, and the first change is reported again: nothing is
written twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from confluent_kafka.admin import AdminClient

from chassis.kafka.producer import EventProducer
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from events.monday import MONDAY_ITEMS, MondayItemLinked
from events.visma_writes import RecordPurchaseReceipt
from mlc.stack import FlowStack, free_port
from sandbox.monday.config import DEMO_MONDAY_TOKEN, DEMO_SIGNING_SECRET

pytestmark = pytest.mark.e2e

TENANT = COMPANY = "tenant-se-1"
BOARD = "1000000001"  # the sandbox's seeded procurement board, the first id it hands out
SERDE = AvroSerde(SchemaCatalog.load())
CREATE = """
mutation ($board: ID!, $name: String!, $values: JSON) {
  create_item(board_id: $board, item_name: $name, column_values: $values) { id }
}"""


class Receipts:
    """The run's monday board and Visma orders, as the sandbox shows them."""

    def __init__(self, stack: FlowStack, kafka: str) -> None:
        self.stack = stack
        self.kafka = KafkaSettings(bootstrap_servers=kafka)

    def call(self, verb: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        answer = httpx.request(verb, f"{self.stack.base_url}{path}", json=body, timeout=30,
                               **kwargs)  # fmt: skip
        answer.raise_for_status()
        return answer.json()

    def open_orders(self, count: int) -> list[dict[str, Any]]:
        orders = self.call("GET", f"/visma/_sandbox/entities/purchaseOrder?company={COMPANY}")
        # Open: nothing of it received in Visma yet (the sandbox's seeded receipts are
        # history, not counted on the order), so the connector's receipt takes it whole.
        found = [o for o in orders if o["status"] == "Open"]
        assert len(found) >= count, "the seed should leave open orders to receive"
        return found[:count]

    def item(self, order: dict[str, Any]) -> str:
        """The order's item, created and linked as the Monday sink does it."""
        visma_id = f"{COMPANY}/purchaseOrder/{order['entityId']}"
        values = {"text_visma_id": visma_id, "status_receipt": {"label": "Pending"}}
        body = {"query": CREATE, "variables": {"board": BOARD, "name": order["orderNbr"],
                                               "values": values}}  # fmt: skip
        headers = {"Authorization": DEMO_MONDAY_TOKEN, "API-Version": "2025-07"}
        data = self.call("POST", "/monday/v2", body, headers=headers)
        item_id = str(data["data"]["create_item"]["id"])
        link = MondayItemLinked(
            tenant_id=TENANT, board_id=BOARD, item_id=item_id, visma_id=visma_id,
            entity_type="purchaseOrder", entity_id=order["entityId"], company_id=COMPANY,
        )  # fmt: skip
        topic = TopicSpec(f"{self.stack.topics.prefix}{MONDAY_ITEMS.name}",
                          MONDAY_ITEMS.partitions, compacted=True)  # fmt: skip
        ensure_topics(AdminClient(self.kafka.client_config("test")), [topic])
        producer = EventProducer(self.kafka, "test")
        producer.send(topic.name, key=link.key, value=SERDE.encode(link.SCHEMA, link.to_record()))
        producer.close()
        return item_id

    def mark(self, item_id: str, label: str) -> None:
        path = f"/monday/_sandbox/boards/{BOARD}/items/{item_id}/change"
        self.call("POST", path, {"column_id": "status_receipt", "value": {"label": label}})

    def receipts_of(self, order: dict[str, Any]) -> int:
        count: int = self.order_receipts(order)["count"]
        return count

    def order_receipts(self, order: dict[str, Any]) -> dict[str, Any]:
        path = f"/visma/_sandbox/purchase-orders/{COMPANY}/{order['orderNbr']}/receipts"
        answer: dict[str, Any] = self.call("GET", path)
        return answer

    def commands(self) -> list[RecordPurchaseReceipt]:
        topic = f"{self.stack.topics.prefix}sink.visma-writer.v1"
        records = iter_to_end(self.kafka, topic, client=f"test-{self.stack.run_id}")
        return [RecordPurchaseReceipt.from_record(SERDE.decode(v)[1]) for _, v in records]

    def wait(
        self, what: str, done: Callable[[], bool], timeout: float = 60,
        explain: Callable[[], object] = lambda: "",
    ) -> None:  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.stack.check_alive()
            if done():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what} did not happen within {timeout}s {explain()}")


def signed(audience: str, *, secret: str = DEMO_SIGNING_SECRET, expires_in: int = 60) -> str:
    now = int(time.time())
    claims = {"accountId": 9000001, "userId": 1, "aud": audience, "iat": now,
              "exp": now + expires_in}  # fmt: skip
    return jwt.encode(claims, secret, algorithm="HS256")


def test_received_by_webhook_or_by_reconciliation_is_one_visma_receipt(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = make_stack(invoices=5)
    # A static group member, as a pod: the restarted writer takes over at once.
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"writer-{stack.run_id}")
    stack.start_sandbox()
    run = Receipts(stack, kafka_bootstrap)
    boards = {b["id"]: b["name"] for b in run.call("GET", "/monday/_sandbox/boards")}
    assert boards.get(BOARD) == "Procurement", boards
    by_webhook, by_reconciliation, forged = run.open_orders(3)
    before = {o["orderNbr"]: run.receipts_of(o) for o in (by_webhook, by_reconciliation, forged)}

    def new_receipts(order: dict[str, Any]) -> int:
        return run.receipts_of(order) - before[order["orderNbr"]]

    items = {o["orderNbr"]: run.item(o) for o in (by_webhook, by_reconciliation, forged)}

    stack.ingress_port = free_port()
    stack.receipts = {"tenants": {TENANT: {"boards": [{"board": BOARD, "company": COMPANY}]}}}
    stack.receipts_args = ("--reconcile-every", "4")
    stack.start("ingress").wait_for_log("listening", timeout=60)
    hook_url = f"{stack.monday_webhook_url}?tenant={TENANT}"
    run.call("POST", "/monday/_sandbox/webhooks", {
        "board_id": BOARD, "url": hook_url, "event": "change_status_column_value"})  # fmt: skip
    stack.start("monday-receipts").wait_for_log("board taken as it stands", timeout=90)
    writer = stack.start("visma-writer")

    # 1. A status change by webhook: one receipt. (The reconciliation sees the change too,
    # a few seconds later: the same command again, which the writer's ledger drops.)
    run.mark(items[by_webhook["orderNbr"]], "Received")
    run.wait("the webhook's receipt", lambda: new_receipts(by_webhook) == 1,
             explain=lambda: run.order_receipts(by_webhook))  # fmt: skip
    sources = [c.source_event_id for c in run.commands()
               if c.order_number == by_webhook["orderNbr"]]  # fmt: skip
    assert any("/reconciliation/" not in s for s in sources), "a command from the webhook"

    # 2. Forged and expired JWTs: 401, nothing stored, no receipt.
    event = {"event": {
        "type": "update_column_value", "boardId": int(BOARD),
        "pulseId": int(items[forged["orderNbr"]]), "columnId": "status_receipt",
        "columnType": "status", "columnTitle": "Receipt",
        "value": {"label": {"index": 1, "text": "Received"}},
        "triggerUuid": "forged-1"}}  # fmt: skip
    for token in (signed(hook_url, secret="not-the-apps-signing-secret!!!!!"),
                  signed(hook_url, expires_in=-120)):  # fmt: skip
        refused = httpx.post(hook_url, json=event, headers={"Authorization": token}, timeout=10)
        assert refused.status_code == 401, refused.text

    # 3. A change whose webhook is dropped, caught by the reconciliation, while the writer is
    # SIGKILLed with its receipt request held in flight by the sandbox.
    run.call("POST", "/visma/_sandbox/faults", {"method": "POST", "delay_seconds": 3.0,
                                                "times": 1, "path_prefix": "/v1/"})  # fmt: skip
    run.call("PATCH", "/monday/_sandbox/webhooks", {"drop": True})
    run.mark(items[by_reconciliation["orderNbr"]], "Received")
    run.wait("the receipt request in flight",
             lambda: not run.call("GET", "/visma/_sandbox/faults"))  # fmt: skip
    writer.kill()
    # The first change reported again (a person toggles it), as the reconciliation sees it.
    run.mark(items[by_webhook["orderNbr"]], "Pending")
    run.mark(items[by_webhook["orderNbr"]], "Received")
    stack.start("visma-writer")
    run.wait("the reconciliation's receipt", lambda: new_receipts(by_reconciliation) == 1,
             timeout=90, explain=lambda: run.order_receipts(by_reconciliation))  # fmt: skip
    webhook_stats = run.call("GET", "/monday/_sandbox/webhooks")["stats"]
    assert webhook_stats["dropped"] >= 1

    # Let a late duplicate show itself: two more reconciliations and the writer's retries.
    settle_until = time.monotonic() + 10
    while time.monotonic() < settle_until:
        stack.check_alive()
        time.sleep(0.5)
    assert new_receipts(by_webhook) == 1
    assert new_receipts(by_reconciliation) == 1
    assert new_receipts(forged) == 0
    commands = run.commands()
    reconciled = [c for c in commands if c.order_number == by_reconciliation["orderNbr"]]
    assert reconciled, "the reconciliation sent the dropped change's receipt"
    assert all("/reconciliation/" in c.source_event_id for c in reconciled)
    assert len({c.command_id for c in commands}) == 2, "one command id per order"
