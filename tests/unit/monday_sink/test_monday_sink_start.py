"""The monday-sink's start: its command line, what it refuses before starting, and every
mapped board bound to monday's real columns (an impossible mapping stops the start with the
mapping's message), and the links it publishes for new items."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.unit.monday_sink.monday_sink_kit import (
    BOARD,
    SERDE,
    TENANT,
    Board,
    Column,
    Monday,
    command,
)

from chassis.errors import PermanentError
from chassis.settings import ServiceSettings
from chassis.tokens import TokenSpecError
from events.monday import MondayItemLinked
from monday_sink.boards import MappedBoards
from monday_sink.inject import SinkConfigError, SinkOptions, binder, check_options
from monday_sink.links import ItemLinks
from monday_sink.main import main, options_from, parser
from monday_sink.mapping import MappingError, parse_mappings

pytestmark = pytest.mark.unit

MAPPING = f"""
tenant: {TENANT}
boards:
  - board: "{BOARD}"
    match: table
    columns: {{visma_id: text_visma_id, reference: text_invoice, total: "AMOUNT"}}
"""
COLUMNS = (
    Column("text_visma_id", "Visma ID", "text"),
    Column("text_invoice", "Invoice ", "text"),
    Column("numbers_amount", "AMOUNT", "numbers"),
)


@pytest.mark.anyio
async def test_each_mapped_board_is_bound_to_the_columns_monday_has() -> None:
    monday = Monday()
    monday.boards[BOARD] = Board(BOARD, "Procurement", COLUMNS)
    boards = MappedBoards({})
    await boards.bind(TENANT, monday, [BOARD], binder(parse_mappings(MAPPING)))
    board = boards.of(command("1/supplierInvoice/INV-1", 1))
    assert board.mapping.visma_id_column == "text_visma_id"
    assert board.values(command("1/supplierInvoice/INV-1", 1, total="12.50")) == {
        "text_visma_id": "1/supplierInvoice/INV-1", "text_invoice": "1/supplierInvoice/INV-1",
        "numbers_amount": "12.50",
    }  # fmt: skip


@pytest.mark.anyio
async def test_an_impossible_mapping_stops_the_start_naming_board_column_and_field() -> None:
    monday = Monday()
    monday.boards[BOARD] = Board(BOARD, "Procurement", COLUMNS[:2])  # no AMOUNT column
    boards = MappedBoards({})
    with pytest.raises(MappingError) as refused:
        await boards.bind(TENANT, monday, [BOARD], binder(parse_mappings(MAPPING)))
    message = str(refused.value)
    assert BOARD in message
    assert "'AMOUNT'" in message
    assert "'total'" in message
    assert list(boards) == []


def _mapping_file(tmp_path: Path, text: str = MAPPING) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def test_the_command_line_names_mappings_vault_tokens_and_topics(tmp_path: Path) -> None:
    path = _mapping_file(tmp_path)
    args = parser().parse_args(
        ["--mapping", str(path), "--tenant-credential", f"{TENANT}=monday/token",
         "--commands-topic", "run.x.sink.monday.v1", "--ledger-topic", "run.x.ledger",
         "--batch-over", "4"]
    )  # fmt: skip
    options = options_from(args, ServiceSettings())
    assert options.vault_credentials == {TENANT: "monday/token"}
    assert options.commands_topic.name == "run.x.sink.monday.v1"
    assert options.ledger_topic.name == "run.x.ledger"
    assert options.ledger_topic.partitions == options.commands_topic.partitions
    assert options.batch_over == 4
    _, files = check_options(options)
    assert [(tenant, [b.board for b in m.boards]) for tenant, m in files] == [(TENANT, [BOARD])]


def test_a_tenant_without_a_token_or_a_mapping_without_a_tenant_is_refused(
    tmp_path: Path,
) -> None:
    path = _mapping_file(tmp_path)
    with pytest.raises(SinkConfigError, match=rf"tenant {TENANT} has no monday token"):
        check_options(SinkOptions(mappings=[path]))
    anonymous = _mapping_file(tmp_path, MAPPING.replace(f"tenant: {TENANT}", ""))
    with pytest.raises(SinkConfigError, match="names no tenant"):
        check_options(SinkOptions(mappings=[anonymous], tokens={"t": SecretStr("x")}))
    check_options(SinkOptions(mappings=[anonymous], tenant="t", tokens={"t": SecretStr("x")}))
    with pytest.raises(SinkConfigError, match="no mapping file"):
        check_options(SinkOptions(mappings=[]))


def test_a_token_variable_that_is_not_set_is_refused_before_any_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MONDAY_TOKEN_UNSET", raising=False)
    args = parser().parse_args(["--mapping", "m.yaml", "--tenant-token", "t=MONDAY_TOKEN_UNSET"])
    with pytest.raises(TokenSpecError, match="tenant t: environment variable MONDAY_TOKEN_UNSET"):
        options_from(args, ServiceSettings())


def test_main_refuses_a_bad_configuration_with_exit_status_2(tmp_path: Path) -> None:
    assert main(["--mapping", str(_mapping_file(tmp_path))]) == 2
    with pytest.raises(SystemExit) as helped:
        main(["--help"])
    assert helped.value.code == 0


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, MondayItemLinked]] = []

    def send(self, topic: str, *, key: str, value: bytes) -> object:
        from concurrent.futures import Future

        self.sent.append((topic, key, MondayItemLinked.from_record(SERDE.decode(value)[1])))
        done: Future[None] = Future()
        done.set_result(None)
        return done


@pytest.mark.anyio
async def test_a_new_item_is_linked_to_its_visma_record() -> None:
    producer = Producer()
    links = ItemLinks(producer=producer, serde=SERDE, topic="monday.item.v1")  # type: ignore[arg-type]
    await links(command("c1/purchaseOrder/PO-7", 1), "5001")
    await links(command("not a record id", 1), "5002")  # nothing to link it to
    assert producer.sent == [
        ("monday.item.v1", f"{BOARD}/5001", MondayItemLinked(
            tenant_id=TENANT, board_id=BOARD, item_id="5001", visma_id="c1/purchaseOrder/PO-7",
            entity_type="purchaseOrder", entity_id="PO-7", company_id="c1",
        ))
    ]  # fmt: skip


def test_an_unmapped_board_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError):
        MappedBoards({}).of(command("x", 1))
