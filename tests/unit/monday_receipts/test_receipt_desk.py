"""The receipts desk: which monday changes become a purchase receipt command, and its id.

Fakes for the link table and the outbox; the audit trail is decoded from what it published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chassis.audit import AuditTrail
from chassis.serde import AvroSerde, SchemaCatalog
from events.monday import MondayColumnChanged, MondayItemLinked
from events.visma_writes import RecordPurchaseReceipt
from monday_receipts.config import (
    ReceiptsConfig,
    ReceiptsConfigError,
    ReceiptsFile,
    load_config,
)
from monday_receipts.desk import Outcome, ReceiptDesk, order_number_of, receipt_command_id

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
BOARD = "1000000001"
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CONFIG = ReceiptsConfig(ReceiptsFile.model_validate({"tenants": {"acme": {"boards": [
    {"board": BOARD, "company": "1234567", "receipt_column": "receipt ",
     "received_label": "Received"}]}}}))  # fmt: skip
LINK = MondayItemLinked(
    tenant_id="acme", board_id=BOARD, item_id="1000000042",
    visma_id="1234567/purchaseOrder/RegularOrder:PO-7", entity_type="purchaseOrder",
    entity_id="RegularOrder:PO-7", company_id="1234567",
)  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def change(**overrides: Any) -> MondayColumnChanged:
    fields: dict[str, Any] = {
        "tenant_id": "acme", "account_id": "9000001", "board_id": BOARD,
        "item_id": "1000000042", "column_id": "status_receipt", "column_title": "Receipt",
        "column_type": "status", "value_text": "Received", "previous_text": "Pending",
        "changed_at": AT, "source": "webhook", "trigger_uuid": "t-1", "received_at": AT,
    }  # fmt: skip
    return MondayColumnChanged.model_validate(fields | overrides)


@dataclass
class Links:
    known: dict[str, MondayItemLinked] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def link_of(self, board_id: str, item_id: str) -> MondayItemLinked | None:
        self.asked.append(f"{board_id}/{item_id}")
        return self.known.get(f"{board_id}/{item_id}")


@dataclass
class Outbox:
    pending: list[RecordPurchaseReceipt] = field(default_factory=list)
    flushed: list[RecordPurchaseReceipt] = field(default_factory=list)

    def receipt(self, command: RecordPurchaseReceipt) -> None:
        self.pending.append(command)

    async def flush(self) -> None:
        self.flushed += self.pending
        self.pending = []


@dataclass
class Rig:
    desk: ReceiptDesk
    links: Links
    outbox: Outbox
    audited: list[dict[str, Any]]


@pytest.fixture
def rig() -> Rig:
    audited: list[dict[str, Any]] = []
    links = Links({LINK.key: LINK})
    outbox = Outbox()

    def publish(_key: str, value: bytes) -> None:
        audited.append(SERDE.decode(value)[1])

    audit = AuditTrail(service="monday-receipts", serde=SERDE, publish=publish)
    return Rig(ReceiptDesk(config=CONFIG, links=links, outbox=outbox, audit=audit),
               links, outbox, audited)  # fmt: skip


async def test_received_on_a_linked_order_is_one_receipt_command(rig: Rig) -> None:
    outcome = await rig.desk.handle(change())

    assert outcome is Outcome.RECEIPT
    [command] = rig.outbox.flushed
    assert (command.company_id, command.order_number) == ("1234567", "PO-7")
    assert (command.entity_type, command.entity_id) == (
        "purchaseOrder", "acme/1234567/purchaseOrder/RegularOrder:PO-7")  # fmt: skip
    assert command.key == "acme/1234567/purchaseOrder/RegularOrder:PO-7"
    assert (command.source_system, command.source_ref) == ("monday", f"{BOARD}/1000000042")
    assert command.command_id == receipt_command_id(
        tenant_id="acme", company_id="1234567", order_number="PO-7"
    )
    [audited] = rig.audited
    assert (audited["stage"], audited["command_id"]) == ("routed", command.command_id)
    assert audited["entity_id"] == command.entity_id


async def test_webhook_retry_reconciliation_and_replay_give_the_same_command_id(rig: Rig) -> None:
    await rig.desk.handle(change())
    await rig.desk.handle(change(trigger_uuid="t-2", changed_at=datetime(2026, 3, 2, tzinfo=UTC)))
    await rig.desk.handle(change(
        source="reconciliation", trigger_uuid="recon-1", previous_text=None,
        visma_id="1234567/purchaseOrder/RegularOrder:PO-7"))  # fmt: skip

    ids = {command.command_id for command in rig.outbox.flushed}
    assert len(rig.outbox.flushed) == 3
    assert len(ids) == 1


async def test_the_command_id_differs_per_order_company_and_tenant() -> None:
    ids = {
        receipt_command_id(tenant_id="acme", company_id="1234567", order_number="PO-7"),
        receipt_command_id(tenant_id="acme", company_id="1234567", order_number="PO-8"),
        receipt_command_id(tenant_id="acme", company_id="7654321", order_number="PO-7"),
        receipt_command_id(tenant_id="beta", company_id="1234567", order_number="PO-7"),
    }
    assert len(ids) == 4


async def test_the_items_visma_id_column_names_the_order_without_a_link(rig: Rig) -> None:
    rig.links.known.clear()
    reconciled = change(source="reconciliation", visma_id="1234567/purchaseOrder/RegularOrder:PO-9")

    assert await rig.desk.handle(reconciled) is Outcome.RECEIPT

    assert rig.outbox.flushed[0].order_number == "PO-9"
    assert rig.links.asked == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"value_text": "Pending"},
        {"value_text": None},
        {"column_id": "status_approval", "column_title": "Approval"},
        {"board_id": "1000000099"},
        {"tenant_id": "beta"},
    ],
    ids=["other-label", "cleared", "other-column", "other-board", "other-tenant"],
)
async def test_other_changes_are_not_receipts(rig: Rig, overrides: dict[str, Any]) -> None:
    assert await rig.desk.handle(change(**overrides)) is Outcome.NOT_A_RECEIPT

    assert rig.outbox.flushed == []
    assert rig.links.asked == []


async def test_label_and_column_title_match_as_people_type_them(rig: Rig) -> None:
    odd = change(value_text="  received ", column_title=" RECEIPT", column_id="status_7")

    assert await rig.desk.handle(odd) is Outcome.RECEIPT


async def test_an_item_of_no_known_record_is_left_to_the_reconciliation(rig: Rig) -> None:
    rig.links.known.clear()

    assert await rig.desk.handle(change()) is Outcome.UNKNOWN_ITEM

    assert rig.outbox.flushed == []


async def test_a_link_of_another_tenant_is_not_trusted(rig: Rig) -> None:
    rig.links.known[LINK.key] = LINK.model_copy(update={"tenant_id": "beta"})

    assert await rig.desk.handle(change()) is Outcome.UNKNOWN_ITEM


@pytest.mark.parametrize(
    ("visma_id", "outcome"),
    [
        ("1234567/supplierInvoice/Invoice:10042", Outcome.NOT_AN_ORDER),
        ("7654321/purchaseOrder/RegularOrder:PO-7", Outcome.OTHER_COMPANY),
    ],
)
async def test_not_an_order_of_the_boards_company_is_skipped_and_audited(
    rig: Rig, visma_id: str, outcome: Outcome
) -> None:
    assert await rig.desk.handle(change(visma_id=visma_id)) is outcome

    assert rig.outbox.flushed == []
    [audited] = rig.audited
    assert audited["stage"] == "skipped"
    assert audited["detail"].startswith("no receipt:")


def test_an_order_number_is_the_id_after_the_order_type() -> None:
    assert order_number_of("RegularOrder:PO-2026-90001") == "PO-2026-90001"
    assert order_number_of("PO-7") == "PO-7"


def test_the_receipts_file_names_the_field_in_error(tmp_path: Path) -> None:
    path = tmp_path / "receipts.yaml"
    path.write_text("tenants:\n  acme:\n    boards:\n      - board: abc\n        company: '1'\n")

    with pytest.raises(
        ReceiptsConfigError, match=r"receipts.yaml line 4: tenants.acme.boards\[0\]"
    ):
        load_config(path)


def test_a_board_id_written_as_a_number_stays_its_text(tmp_path: Path) -> None:
    path = tmp_path / "receipts.yaml"
    path.write_text("tenants:\n  acme:\n    boards:\n      - {board: 1000000001, company: 0042}\n")

    [watched] = load_config(path).all()

    assert (watched.board.board, watched.board.company) == ("1000000001", "0042")


def test_a_board_twice_for_one_tenant_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "receipts.yaml"
    board = "      - {board: '1', company: '1'}\n"
    path.write_text("tenants:\n  acme:\n    boards:\n" + board + board)

    with pytest.raises(ReceiptsConfigError, match="board 1 twice"):
        load_config(path)


def test_the_example_receipts_file_loads() -> None:
    example = Path(__file__).resolve().parents[3] / "services/monday_receipts/receipts.example.yaml"

    config = load_config(example)

    [watched] = config.all()
    assert (watched.tenant_id, watched.board.board, watched.board.company) == (
        "tenant-se-1", "1000000001", "tenant-se-1")  # fmt: skip
    assert watched.board.means_received("received")
