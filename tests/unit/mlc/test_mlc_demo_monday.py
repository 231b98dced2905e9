"""The demo's Monday part: one rule per tenant to its own board, mapping and receipts files the
services accept, the seeded companies' invoices and orders rendered into the seed's odd
column titles, and a summary that says FAILED when a board is wrong or a receipt repeats."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.unit.monday_mapping.mapping_boards import Brd, Col

from events.commands import CreateMondayItem
from mlc.demo_monday import (
    MARKED,
    SEEDED_BOARD,
    WAREHOUSE_TENANT,
    Boards,
    BoardView,
    MondayOutcome,
    add_monday_rules,
    expected_items,
    monday_summary,
    open_orders,
    receipts_file,
    visma_id_of,
    write_mappings,
)
from mlc.stack import DEFAULT_RULES, DEMO_TENANTS
from monday_receipts.config import load_config
from monday_sink.mapping import bind, load_mappings
from processor.rules import load_rules
from sandbox import SandboxConfig, create_app
from sandbox.monday.columns import Column
from sandbox.monday.state import PROCUREMENT_COLUMNS

pytestmark = pytest.mark.unit

BOARDS = Boards({DEMO_TENANTS[0]: SEEDED_BOARD, DEMO_TENANTS[1]: "1000000002",
                 DEMO_TENANTS[2]: "1000000003"})  # fmt: skip


def _sandbox_records() -> list[tuple[str, dict[str, Any]]]:
    """The seeded companies' invoices and orders, as `records(stack)` reads them."""

    async def fetch() -> list[tuple[str, dict[str, Any]]]:
        app = create_app(SandboxConfig.model_validate({}))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return [
                (entity, raw)
                for entity in ("supplierInvoice", "purchaseOrder")
                for raw in (await client.get(f"/visma/_sandbox/entities/{entity}")).json()
            ]

    return asyncio.run(fetch())


@pytest.fixture(scope="module")
def found() -> list[tuple[str, dict[str, Any]]]:
    return _sandbox_records()


@pytest.fixture
def rules_path(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(DEFAULT_RULES.read_text())
    add_monday_rules(path, BOARDS)
    return path


def _board_shape(board: str) -> Brd:
    return Brd(board, "Procurement", tuple(
        Col(cid, title, kind, Column(cid, title, kind, list(labels)).settings_str())
        for cid, title, kind, labels in PROCUREMENT_COLUMNS
    ))  # fmt: skip


def test_each_tenants_invoices_and_orders_go_to_its_own_board(
    rules_path: Path, found: list[tuple[str, dict[str, Any]]]
) -> None:
    rules = load_rules(rules_path)
    base = load_rules(DEFAULT_RULES)
    assert [r.name for r in rules.rules][: len(base.rules)] == [r.name for r in base.rules]

    expected = expected_items(found, rules)

    assert set(expected) == set(BOARDS.by_tenant.values())
    for tenant, board in BOARDS.by_tenant.items():
        ours = [(e, raw) for e, raw in found if raw["company"] == tenant]
        assert set(expected[board]) == {visma_id_of(e, raw) for e, raw in ours}
        assert {c.tenant_id for c in expected[board].values()} == {tenant}
    kinds = Counter(c.entity_type for items in expected.values() for c in items.values())
    assert kinds == Counter(e for e, _ in found)  # every invoice and order, once
    assert kinds["supplierInvoice"] == 75  # 25 per company, as the demo seeds them


def test_the_mapping_by_title_fills_the_seeds_odd_columns(
    tmp_path: Path, rules_path: Path, found: list[tuple[str, dict[str, Any]]]
) -> None:
    mappings = write_mappings(tmp_path, BOARDS)
    expected = expected_items(found, load_rules(rules_path))
    for path in mappings:
        mapping = load_mappings(path)
        (spec,) = mapping.boards
        bound = bind(_board_shape(spec.board), spec)
        for command in expected[spec.board].values():
            values = bound.render(command.fields, visma_id=command.visma_id)
            assert values["text_visma_id"] == command.visma_id
            assert values["text_invoice"] == command.fields["reference"]
            assert values["numbers_amount"] == command.fields["total"]
            assert values["text_supplier"] == command.fields["party"]
            assert bound.item_name(command.fields)
            assert "status_receipt" not in values  # the warehouse's column: the sink leaves it
            if command.entity_type == "supplierInvoice":
                assert values["date_due"] == {"date": command.fields["due_date"]}
    receipts = tmp_path / "receipts.yaml"
    receipts.write_text(yaml.safe_dump(receipts_file(BOARDS)))
    config = load_config(receipts)
    assert {(tb.tenant_id, tb.board.board) for tb in config.all()} == set(BOARDS.by_tenant.items())
    assert all(tb.board.company == tb.tenant_id for tb in config.all())


def test_the_warehouse_marks_open_orders_of_its_own_company(
    found: list[tuple[str, dict[str, Any]]],
) -> None:
    orders = open_orders(found, MARKED)

    assert len(orders) == MARKED
    assert {o["company"] for o in orders} == {WAREHOUSE_TENANT}
    assert {o["status"] for o in orders} == {"Open"}


SHOWN_FIELDS = {"reference": "PO-1", "party": "Volvo Delar AB", "total": "1200.00"}
CELLS = {"text_invoice": "PO-1", "text_supplier": "Volvo Delar AB", "numbers_amount": "1200.00"}


def _item(command_id: str, visma_id: str) -> CreateMondayItem:
    return CreateMondayItem(command_id=command_id, tenant_id=WAREHOUSE_TENANT, rule="r",
                            source_event_id="e", entity_type="purchaseOrder", entity_id="k",
                            created_at=datetime(2026, 12, 3, tzinfo=UTC), board_id=SEEDED_BOARD,
                            item_name="PO", body="", visma_id=visma_id,
                            fields=SHOWN_FIELDS)  # fmt: skip


def _outcome(
    items: list[str], receipts: dict[str, int], cells: dict[str, str] = CELLS
) -> MondayOutcome:
    view = BoardView()
    for n, visma_id in enumerate(items):
        view.items.setdefault(visma_id, []).append({"id": str(n), "values": dict(cells)})
    expected = {SEEDED_BOARD: {v: _item(v, v) for v in ("a", "b")}}
    orders = [{"orderNbr": "PO1", "company": WAREHOUSE_TENANT},
              {"orderNbr": "PO2", "company": WAREHOUSE_TENANT}]  # fmt: skip
    stats = {"max_mutations_in_flight": {SEEDED_BOARD: 1}, "items_created": {SEEDED_BOARD: 2},
             "item_updates": {SEEDED_BOARD: 3}}  # fmt: skip
    return MondayOutcome(expected, {SEEDED_BOARD: view}, stats, orders, Counter(receipts))


@pytest.mark.parametrize(
    ("items", "receipts", "ok"),
    [
        pytest.param(["a", "b"], {"PO1": 1, "PO2": 1}, True, id="each-once"),
        pytest.param(["a", "b", "b"], {"PO1": 1, "PO2": 1}, False, id="duplicate-item"),
        pytest.param(["a"], {"PO1": 1, "PO2": 1}, False, id="missing-item"),
        pytest.param(["a", "b", "c"], {"PO1": 1, "PO2": 1}, False, id="foreign-item"),
        pytest.param(["a", "b"], {"PO1": 2, "PO2": 1}, False, id="receipt-twice"),
        pytest.param(["a", "b"], {"PO1": 1}, False, id="receipt-missing"),
    ],
)
def test_the_summary_says_failed_when_anything_is_off(
    items: list[str], receipts: dict[str, int], ok: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert monday_summary(_outcome(items, receipts)) is ok
    out = capsys.readouterr().out
    assert "(created 2, updated 3)" in out
    assert "at most 1 per board" in out
    assert ("check                      : OK" in out) is ok


def test_an_item_showing_another_amount_fails_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    wrong = CELLS | {"numbers_amount": "1200"}

    assert monday_summary(_outcome(["a", "b"], {"PO1": 1, "PO2": 1}, wrong)) is False
    assert "2 with wrong cells" in capsys.readouterr().out


def test_the_mapping_files_name_their_tenant(tmp_path: Path) -> None:
    mappings = write_mappings(tmp_path, BOARDS)
    written = {yaml.safe_load(p.read_text())["tenant"]: p for p in mappings}
    assert set(written) == set(DEMO_TENANTS)
