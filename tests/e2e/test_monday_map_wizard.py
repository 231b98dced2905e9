"""Acceptance (issue 12): the wizard, driven in a terminal, maps a 12-column board and writes
a file the sink then uses.

`mlc monday map` runs in a real pseudo-terminal (pexpect) against a running sandbox (its
seeded 12-column "Procurement" board, titles with odd case and spacing) and the real broker
(the preview record is the newest supplier invoice on a topic of the test's own). The test
answers the prompts as a person would: keeps most pairs, asks for help, is refused a field
of the wrong type, leaves one column alone and changes another; then the monday-sink's own
start-up check (its options with the file, the board read and bound) takes the file, and
the bound mapping renders the record.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from pydantic import SecretStr

from chassis.settings import KafkaSettings
from mlc.stack import start_sandbox
from monday_client import MondayClient
from monday_sink.inject import SinkOptions, binder, check_options
from monday_sink.mapping import load_mappings
from monday_sink.ports import BoardMapping
from sandbox.monday.config import DEMO_MONDAY_TOKEN
from tests.integration.monday_map_records import MARCH, invoice, write_invoices

pytestmark = pytest.mark.e2e

BOARD = "1000000001"
ANSWER_SECONDS = 30  # one prompt's deadline (a loaded machine); no test waits it out


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    child, base_url = start_sandbox(tmp_path_factory.mktemp("sandbox"), "--port", "0")
    try:
        yield f"{base_url}/monday"
    finally:
        child.stop()


def _wizard(
    *args: str, kafka_bootstrap: str, log: Path, token: str = DEMO_MONDAY_TOKEN
) -> pexpect.spawn:
    env = {**os.environ, "MLC_MONDAY_TOKEN": token, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    wizard = pexpect.spawn(
        sys.executable, ["-m", "mlc.cli", "monday", "map", *args],
        env=env, encoding="utf-8", timeout=ANSWER_SECONDS, dimensions=(50, 160),
    )  # fmt: skip
    wizard.logfile_read = log.open("w")  # what the terminal showed, for a failure's report
    return wizard


def _answer(wizard: pexpect.spawn, column: int, title: str, answer: str) -> None:
    wizard.expect_exact(f"[{column}/12] {title}")
    wizard.expect_exact("]: ")
    wizard.sendline(answer)


def _sink_start_check(mapping_file: Path, api_url: str) -> BoardMapping:
    """What the monday-sink does with its --mapping files at start: checks the options, then
    reads each mapped board and binds it (an impossible mapping stops the start there)."""
    token = SecretStr(DEMO_MONDAY_TOKEN)
    _, files = check_options(
        SinkOptions(mappings=[mapping_file], tokens={"t1": token}, api_base=api_url)
    )
    [(tenant, mapping)] = files
    assert tenant == "t1"

    async def bind_board() -> BoardMapping:
        async with MondayClient(token, base_url=api_url) as client:
            return await binder(mapping)(BOARD, client)

    return asyncio.run(bind_board())


def test_the_wizard_in_a_terminal_maps_the_12_column_board_and_the_sink_binds_the_file(
    sandbox: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"test.monday-wizard.{unique}"
    record = invoice("INV-42", modified=MARCH)
    write_invoices(KafkaSettings(bootstrap_servers=kafka_bootstrap), topic, [record])
    out = tmp_path / "mapping.yaml"

    wizard = _wizard(
        "--board", BOARD, "--tenant", "t1", "--out", str(out), "--api-url", sandbox,
        "--preview-topic", topic, kafka_bootstrap=kafka_bootstrap, log=tmp_path / "tty.log",
    )  # fmt: skip
    wizard.expect_exact(f"Preview record: {topic}: c1/supplierInvoice/INV-42")
    wizard.expect_exact(f"Board 'Procurement' ({BOARD}), 12 columns:")
    _answer(wizard, 1, "'Visma ID' (text)", "")
    _answer(wizard, 2, "'Invoice ' (text)", "")
    _answer(wizard, 3, "' supplier name' (text)", "")
    _answer(wizard, 4, "'AMOUNT' (numbers)", "?")
    wizard.expect_exact("fields a numbers column can show")
    wizard.expect(r"amount +'1250\.50'")
    _answer(wizard, 4, "'AMOUNT' (numbers)", "supplier_name")  # the wrong type
    wizard.expect_exact("a numbers column cannot show 'supplier_name' (a text field)")
    _answer(wizard, 4, "'AMOUNT' (numbers)", "")
    _answer(wizard, 5, "'Currency' (text)", "-")  # left alone
    for column, title in enumerate(
        ["'Due  date' (date)", "'Receipt' (status)", "'Approval' (status)",
         "'Document' (link)", "'Dimension' (dropdown)"], start=6,
    ):  # fmt: skip
        _answer(wizard, column, title, "")
    _answer(wizard, 11, "'Notes' (long_text)", "supplier_reference|description")  # changed
    _answer(wizard, 12, "'Contact e-mail' (email)", "")
    wizard.expect_exact("May monday add labels 'Approval' lacks for a Visma value? [y/N] ")
    wizard.sendline("")  # no: a label the column lacks refuses the record
    wizard.expect_exact(f"The preview record in the columns ({topic}: c1/supplierInvoice/INV-42)")
    wizard.expect(r"'AMOUNT' += \"1250\.50\"")
    wizard.expect(r"'Notes' += \{\"text\": \"Pallets, March\"\}")
    wizard.expect_exact(f"Write {out}? [Y/n] ")
    wizard.sendline("y")
    wizard.expect_exact(f"wrote {out}: board {BOARD}")
    wizard.expect(pexpect.EOF)
    wizard.close()
    assert wizard.exitstatus == 0

    spec = load_mappings(out).board(BOARD)
    assert "currency" not in spec.columns
    assert spec.create_labels_if_missing is False
    assert spec.columns["supplier_reference"] == "long_text_notes"
    assert spec.columns["description"] == "long_text_notes"
    bound = _sink_start_check(out, sandbox)
    fields = {"visma_id": "c1/supplierInvoice/INV-42", "reference_number": "INV-42",
              "supplier_name": "Nordic Timber AB", "amount": "1250.50", "currency": "SEK",
              "due_date": "2026-03-31", "description": "Pallets, March"}  # fmt: skip
    assert bound.render(fields) == {
        "text_visma_id": "c1/supplierInvoice/INV-42",
        "text_invoice": "INV-42",
        "text_supplier": "Nordic Timber AB",
        "numbers_amount": "1250.50",
        "date_due": {"date": "2026-03-31"},
        "long_text_notes": {"text": "Pallets, March"},
    }
    assert bound.visma_id_column == "text_visma_id"
    assert bound.item_name(fields) == "INV-42 Nordic Timber AB"


@pytest.mark.parametrize(
    ("board", "token", "error"),
    [
        ("999", DEMO_MONDAY_TOKEN, "board 999: monday has no such board, or this token cannot"),
        (BOARD, "a-token-monday-does-not-know", "monday refused the token"),
    ],
)  # fmt: skip
def test_the_wizard_says_in_one_line_what_stops_it(
    sandbox: str, kafka_bootstrap: str, tmp_path: Path, board: str, token: str, error: str
) -> None:
    wizard = _wizard(
        "--board", board, "--out", str(tmp_path / "m.yaml"), "--api-url", sandbox,
        kafka_bootstrap=kafka_bootstrap, log=tmp_path / "tty.log", token=token,
    )  # fmt: skip
    wizard.expect(pexpect.EOF)
    wizard.close()

    shown = [line for line in re.split(r"\r?\n", wizard.before) if line.strip()]
    assert len(shown) == 1, shown
    assert shown[0].startswith("mlc monday map: error: ")
    assert error in shown[0]
    assert wizard.exitstatus == 1
    assert not (tmp_path / "m.yaml").exists()
