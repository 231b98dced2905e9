"""The Monday part of `mlc demo`: seed 002's example, procurement boards and receipts back.

Each demo company has a procurement board in the sandbox's monday account: the seeded
"Procurement" board for the Swedish company, one alike for the Norwegian and the Danish,
with the seed's odd column titles (`'Invoice '`, `' supplier name'`, `'AMOUNT'`, `'Due  date'`)
mapped by title. Every supplier invoice and purchase order of a company becomes one item on
its board (a rule per tenant: a board belongs to one tenant's account); a later version of
the record updates the same item. Then a warehouse user marks two open Swedish orders
"Received" in monday: the board's webhook reaches the ingress, the receipts service makes a
receipt command and the Visma writer records one purchase receipt per order. The summary
reads the boards and the sandbox's own counters: items created and updated, receipts written.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from events.commands import CreateMondayItem
from mlc.stack import DEMO_TENANTS, FlowStack
from processor.routing import route_all
from processor.rules import RuleSet
from sandbox.monday.state import PROCUREMENT_COLUMNS
from visma_client.entities import VISMA_ENTITIES
from visma_poller.mapping import entity_event

SEEDED_BOARD = "1000000001"
"""The sandbox's "Procurement" board: the Swedish company's."""
ENTITIES = ("supplierInvoice", "purchaseOrder")
SHOWN = (("text_invoice", "reference"), ("text_supplier", "party"), ("numbers_amount", "total"))
"""(column id on the procurement board, the field it must show): 'Invoice ', ' supplier name',
'AMOUNT', titles the mapping pairs with the fields by title."""
RECEIPT_COLUMN = "status_receipt"
RECEIVED = "Received"
WAREHOUSE_TENANT = DEMO_TENANTS[0]
MARKED = 2
"""Orders the warehouse user marks received: Visma must get exactly this many receipts."""


@dataclass(frozen=True)
class Boards:
    """Each demo tenant's procurement board in the sandbox's monday account."""

    by_tenant: dict[str, str]

    def tenant_of(self, board: str) -> str:
        return next(t for t, b in self.by_tenant.items() if b == board)


def add_boards(stack: FlowStack) -> Boards:
    """The seeded board for the first company, a board with the same columns for each other."""
    boards = {DEMO_TENANTS[0]: SEEDED_BOARD}
    columns = [
        {"id": cid, "title": title, "type": kind, "labels": list(labels)}
        for cid, title, kind, labels in PROCUREMENT_COLUMNS
    ]
    for tenant in DEMO_TENANTS[1:]:
        answer = httpx.post(
            f"{stack.base_url}/monday/_sandbox/boards",
            json={"name": f"Procurement {tenant}", "columns": columns},
            timeout=10,
        )
        answer.raise_for_status()
        boards[tenant] = str(answer.json()["id"])
    return Boards(boards)


def monday_rules(boards: Boards) -> list[dict[str, Any]]:
    """Seed 002's rule, once per tenant: its invoices and orders to its own board."""
    return [
        {
            "name": f"procurement-board-{tenant}",
            "when": {"tenant": [tenant], "entity_type": list(ENTITIES)},
            "targets": [{"monday": {"board": board}}],
        }
        for tenant, board in boards.by_tenant.items()
    ]


def add_monday_rules(rules_path: Path, boards: Boards) -> None:
    """Appends the Monday rules to the run's rules file (the processor reads it at start)."""
    data = yaml.safe_load(rules_path.read_text(encoding="utf-8"))
    data["rules"] = [*data["rules"], *monday_rules(boards)]
    rules_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")


def mapping_file(tenant: str, board: str) -> dict[str, Any]:
    """A tenant's mapping file: columns by title. The board's "Approval" status column knows
    only Waiting and Approved; Visma's approval statuses (Pending ...) are added to it as
    they come, rather than every pending invoice being refused."""
    spec = {"board": board, "name": "Procurement", "create_labels_if_missing": True}
    return {"tenant": tenant, "boards": [spec]}


def receipts_file(boards: Boards) -> dict[str, Any]:
    """Which status label on which board means "goods received", for the receipts service."""
    receipt = {
        "receipt_column": "Receipt",
        "received_label": RECEIVED,
        "visma_id_column": "Visma ID",
    }
    return {
        "tenants": {
            tenant: {"boards": [{"board": board, "company": tenant, **receipt}]}
            for tenant, board in boards.by_tenant.items()
        }
    }


def write_mappings(state_dir: Path, boards: Boards) -> list[Path]:
    """The mapping file of each tenant, in the run's folder."""
    mappings = []
    for tenant, board in boards.by_tenant.items():
        path = state_dir / f"monday-mapping-{tenant}.yaml"
        path.write_text(yaml.safe_dump(mapping_file(tenant, board), sort_keys=False), "utf-8")
        mappings.append(path)
    return mappings


def records(stack: FlowStack) -> list[tuple[str, dict[str, Any]]]:
    """(entity type, the sandbox's record) of every invoice and order of the demo companies."""
    return [
        (entity, raw)
        for entity in ENTITIES
        for raw in stack.get(f"/visma/_sandbox/entities/{entity}")
        if raw["company"] in DEMO_TENANTS
    ]


def expected_items(
    found: list[tuple[str, dict[str, Any]]], rules: RuleSet
) -> dict[str, dict[str, CreateMondayItem]]:
    """Board -> Visma id -> the command the rules make of the record's current version."""
    expected: dict[str, dict[str, CreateMondayItem]] = {}
    for entity, raw in found:
        dto = VISMA_ENTITIES[entity].model.model_validate(raw)
        event = entity_event(entity, dto, tenant_id=raw["company"], company_id=raw["company"],
                             observed_at=datetime.now(UTC))  # fmt: skip
        for command in route_all(event, rules):
            if isinstance(command, CreateMondayItem) and command.visma_id is not None:
                expected.setdefault(command.board_id, {})[command.visma_id] = command
    return expected


@dataclass
class BoardView:
    """What a board shows: its items by the text of their Visma ID column."""

    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def read(cls, stack: FlowStack, board: str) -> BoardView:
        view = cls()
        for item in stack.get(f"/monday/_sandbox/boards/{board}/items"):
            visma_id = str(item["values"].get("text_visma_id") or "")
            view.items.setdefault(visma_id, []).append(item)
        return view

    def missing(self, wanted: dict[str, CreateMondayItem]) -> set[str]:
        return set(wanted) - set(self.items)

    def duplicates(self) -> int:
        return sum(len(items) - 1 for items in self.items.values())

    def foreign(self, wanted: dict[str, CreateMondayItem]) -> set[str]:
        return set(self.items) - set(wanted)

    def wrong_cells(self, wanted: dict[str, CreateMondayItem]) -> set[str]:
        """Visma ids whose item does not show the record's number, party and total under the
        seed's odd titles ('Invoice ', ' supplier name', 'AMOUNT'): the mapping by title."""
        return {
            visma_id
            for visma_id, command in wanted.items()
            for item in self.items.get(visma_id, [])
            if any(item["values"].get(column, "") != command.fields.get(field, "")
                   for column, field in SHOWN)
        }  # fmt: skip


def open_orders(found: list[tuple[str, dict[str, Any]]], count: int) -> list[dict[str, Any]]:
    """The first `count` open orders of the warehouse's company: the ones it can receive."""
    orders = [
        raw for entity, raw in found
        if entity == "purchaseOrder" and raw["company"] == WAREHOUSE_TENANT
        and raw.get("status") == "Open"
    ]  # fmt: skip
    return sorted(orders, key=lambda raw: str(raw["orderNbr"]))[:count]


def visma_id_of(entity: str, raw: dict[str, Any]) -> str:
    dto = VISMA_ENTITIES[entity].model.model_validate(raw)
    return f"{raw['company']}/{entity}/{VISMA_ENTITIES[entity].id_of(dto)}"


def receipt_counts(stack: FlowStack, orders: list[dict[str, Any]]) -> Counter[str]:
    """Order number -> how many purchase receipts Visma holds for it."""
    counts: Counter[str] = Counter()
    for order in orders:
        found = stack.get(f"/visma/_sandbox/purchase-orders/{order['company']}/"
                          f"{order['orderNbr']}/receipts")  # fmt: skip
        counts[str(order["orderNbr"])] = int(found["count"])
    return counts


def register_webhooks(stack: FlowStack, boards: Boards, *, ingress_url: str) -> None:
    """Each board tells the ingress when a status changes (monday's challenge first; the
    URL's ?tenant= says whose board it is, and the JWT's aud covers it)."""
    for tenant, board in boards.by_tenant.items():
        answer = httpx.post(
            f"{stack.base_url}/monday/_sandbox/webhooks",
            json={"board_id": board, "url": f"{ingress_url}?tenant={tenant}",
                  "event": "change_status_column_value"},
            timeout=30,
        )  # fmt: skip
        answer.raise_for_status()


def mark_received(stack: FlowStack, board: str, item_id: str) -> None:
    """A warehouse user sets the item's Receipt status, as in the monday app."""
    answer = httpx.post(
        f"{stack.base_url}/monday/_sandbox/boards/{board}/items/{item_id}/change",
        json={"column_id": RECEIPT_COLUMN, "value": {"label": RECEIVED}},
        timeout=30,
    )
    answer.raise_for_status()


def wait_for(check: Any, stack: FlowStack, deadline: float) -> bool:
    """Polls `check()` once a second until it holds or the deadline passes."""
    while not check():
        stack.check_alive()
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)
    return True


@dataclass
class MondayOutcome:
    """What the boards and Visma showed at the end, against what the rules called for."""

    expected: dict[str, dict[str, CreateMondayItem]]
    views: dict[str, BoardView]
    stats: dict[str, Any]
    orders: list[dict[str, Any]]
    receipts: Counter[str]
    """Order number -> receipts Visma made for it during the run."""

    def items_ok(self) -> bool:
        return all(
            not view.missing(self.expected.get(board, {}))
            and not view.foreign(self.expected.get(board, {}))
            and not view.duplicates()
            and not view.wrong_cells(self.expected.get(board, {}))
            for board, view in self.views.items()
        )

    def receipts_ok(self) -> bool:
        wanted = {str(o["orderNbr"]): 1 for o in self.orders}
        return len(self.orders) == MARKED and dict(self.receipts) == wanted

    def one_mutation_per_board(self) -> bool:
        return all(n <= 1 for n in self.stats.get("max_mutations_in_flight", {}).values())


def check_monday(stack: FlowStack, rules: RuleSet, boards: Boards, *, deadline: float) -> bool:
    """Waits for every item, marks two orders received, waits for their receipts; prints."""
    print("\n== Monday ==", flush=True)
    found = records(stack)
    expected = expected_items(found, rules)

    def views() -> dict[str, BoardView]:
        return {board: BoardView.read(stack, board) for board in boards.by_tenant.values()}

    wait_for(lambda: all(not v.missing(expected.get(b, {})) for b, v in views().items()),
             stack, deadline)  # fmt: skip
    orders = open_orders(found, MARKED)
    before = receipt_counts(stack, orders)
    board = boards.by_tenant[WAREHOUSE_TENANT]
    shown = views()[board]
    for order in orders:
        for item in shown.items.get(visma_id_of("purchaseOrder", order), [])[:1]:
            mark_received(stack, board, str(item["id"]))
    numbers = ", ".join(str(o["orderNbr"]) for o in orders)
    print(f"warehouse                  : {len(orders)} orders marked {RECEIVED} ({numbers})")

    def made() -> Counter[str]:
        return receipt_counts(stack, orders) - before

    wait_for(lambda: set(made()) >= {str(o["orderNbr"]) for o in orders}, stack, deadline)
    time.sleep(3.0)  # a second receipt, if one were coming, would show by now
    # The receipt changes its order in Visma too; the poller reads orders every few minutes
    # within the company's call budget, so the order's item is updated after the demo ends.
    outcome = MondayOutcome(expected, views(), stack.get("/monday/_sandbox/stats"), orders, made())
    return monday_summary(outcome)


def monday_summary(outcome: MondayOutcome) -> bool:
    stats = outcome.stats
    created = sum(stats.get("items_created", {}).values())
    updated = sum(stats.get("item_updates", {}).values())
    wanted = sum(len(v) for v in outcome.expected.values())
    shown = sum(len(v.items) for v in outcome.views.values())
    in_flight = max(stats.get("max_mutations_in_flight", {}).values(), default=0)
    print(f"Monday items               : {shown} on {len(outcome.views)} boards for {wanted} "
          f"invoices and orders (created {created}, updated {updated})")  # fmt: skip
    print(f"monday mutations in flight : at most {in_flight} per board")
    print(f"Visma purchase receipts    : {sum(outcome.receipts.values())} written for "
          f"{len(outcome.orders)} orders marked {RECEIVED}")  # fmt: skip
    ok = outcome.items_ok() and outcome.receipts_ok() and outcome.one_mutation_per_board()
    problems = [
        f"board {board}: {len(view.missing(outcome.expected.get(board, {})))} missing, "
        f"{view.duplicates()} duplicates, {len(view.foreign(outcome.expected.get(board, {})))} "
        f"unexpected, {len(view.wrong_cells(outcome.expected.get(board, {})))} with wrong cells"
        for board, view in outcome.views.items()
    ]
    verdict = (
        "OK: each record one item on its board showing its number, supplier and amount, "
        "one receipt per order marked received"
        if ok
        else "FAILED: " + "; ".join([*problems, f"receipts {dict(outcome.receipts)}"])
    )
    print(f"check                      : {verdict}")
    return ok
