"""`mlc monday map` against the monday sandbox in process: what it writes with --accept, and
its one-line errors (unknown board, refused token, no token, a file that exists)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from tests.unit.chassis.test_vault import MemoryLog
from tests.unit.monday_mapping.mapping_boards import procurement_board

from chassis.vault import CredentialVault, KeyRing, MasterKey
from mlc.cli import main
from mlc.monday_map import MapOptions, WizardError, map_board
from mlc.monday_preview import Preview
from monday_sink.mapping import BoardSpec, MappingFile, MatchBy, bind, load_mappings
from sandbox import SandboxConfig, create_app
from sandbox.monday.config import DEMO_MONDAY_TOKEN

pytestmark = pytest.mark.unit

BOARD = "1000000001"
RECORD = {
    "visma_id": "c1/supplierInvoice/INV-9",
    "reference_number": "INV-9",
    "supplier_name": "Acme Oy",
    "amount": "99.50",
    "due_date": "2026-04-01",
}
ENV = {"MLC_MONDAY_TOKEN": DEMO_MONDAY_TOKEN}


def _options(tmp_path: Path, **changes: object) -> MapOptions:
    config = SandboxConfig.model_validate(
        {"clock_speed": 0, "clock_start": datetime(2026, 3, 2, tzinfo=UTC)}
    )
    options = MapOptions(
        board=BOARD,
        out=tmp_path / "mapping.yaml",
        tenant="t1",
        accept=True,
        api_url="http://sandbox/monday",
        transport=httpx.ASGITransport(app=create_app(config)),
    )
    return MapOptions(**{**options.__dict__, **changes})  # type: ignore[arg-type]


def _run(options: MapOptions, *, env: dict[str, str] = ENV) -> tuple[int, str]:
    out = io.StringIO()

    def no_questions(prompt: str) -> str:
        raise AssertionError(f"--accept asked {prompt!r}")

    status = asyncio.run(
        map_board(options, ask=no_questions, out=out, env=env,
                  preview=lambda topic: Preview(RECORD, f"{topic}: {RECORD['visma_id']}"))
    )  # fmt: skip
    return status, out.getvalue()


def test_accept_writes_the_proposal_which_the_sink_binds(tmp_path: Path) -> None:
    status, shown = _run(_options(tmp_path))

    assert status == 0
    assert "Preview record: visma.supplier-invoice.v1: c1/supplierInvoice/INV-9" in shown
    assert "'AMOUNT'                 = \"99.50\"" in shown
    mapping = load_mappings(tmp_path / "mapping.yaml")
    assert mapping.tenant == "t1"
    spec = mapping.board(BOARD)
    assert spec.match is MatchBy.TABLE
    assert spec.columns["reference_number"] == "text_invoice"  # by id: survives a rename
    bound = bind(procurement_board(), spec)
    assert bound.render(RECORD)["date_due"] == {"date": "2026-04-01"}
    assert (tmp_path / "mapping.yaml").read_text().startswith("# monday column mapping")


@pytest.mark.parametrize(
    ("changes", "env", "error"),
    [
        ({"board": "999"}, ENV,
         "board 999: monday has no such board, or this token cannot see it"),
        ({}, {"MLC_MONDAY_TOKEN": "not-a-token"}, "monday refused the token"),
        ({}, {}, "no monday token: set MLC_MONDAY_TOKEN or give --credential NAME"),
    ],
)  # fmt: skip
def test_a_board_or_token_that_cannot_work_is_one_clear_line(
    tmp_path: Path, changes: dict[str, object], env: dict[str, str], error: str
) -> None:
    with pytest.raises(WizardError) as failed:
        _run(_options(tmp_path, **changes), env=env)

    assert error in str(failed.value)
    assert "\n" not in str(failed.value)
    assert not (tmp_path / "mapping.yaml").exists()


def test_an_existing_file_is_changed_only_with_force_and_keeps_its_other_boards(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mapping.yaml"
    other = BoardSpec(board="77", match=MatchBy.TABLE, columns={"visma_id": "text"})
    path.write_text(MappingFile(tenant="t1", boards=[other]).to_yaml())

    with pytest.raises(WizardError, match=r"mapping.yaml exists; --force writes board 1000000001"):
        _run(_options(tmp_path))
    status, _ = _run(_options(tmp_path, force=True))

    assert status == 0
    written = load_mappings(path)
    assert [spec.board for spec in written.boards] == ["77", BOARD]
    assert written.board("77") == other


def test_a_file_of_another_tenant_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("tenant: t2\nboards:\n  - board: 77\n")

    with pytest.raises(WizardError, match="tenant t2's, not t1's"):
        _run(_options(tmp_path, force=True))
    assert path.read_text() == "tenant: t2\nboards:\n  - board: 77\n"


def test_help_shows_the_options_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["monday", "map", "--help"])

    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: mlc monday map [-h] --board ID [--tenant TENANT] [--out FILE]")
    assert "--accept" in out
    assert "mlc monday map --board 1000000001" in out
    assert "--preview-topic" not in out  # the tests' override stays out of the operator's help


def _board_without_visma_id(options: MapOptions) -> MapOptions:
    """The sandbox gets a board of two columns, neither titled 'Visma ID'."""
    assert isinstance(options.transport, httpx.ASGITransport)
    monday = options.transport.app.state.sandbox.monday  # type: ignore[attr-defined]
    board = monday.add_board("Collections", (("text_ref", "Ref", "text", ()),
                                             ("text_key", "Key", "text", ())))  # fmt: skip
    return MapOptions(**{**options.__dict__, "board": board.id})  # type: ignore[arg-type]


def test_accept_refuses_a_proposal_that_cannot_work_naming_board_and_field(
    tmp_path: Path,
) -> None:
    options = _board_without_visma_id(_options(tmp_path))

    with pytest.raises(WizardError) as failed:
        _run(options)

    assert f"board 'Collections' ({options.board})" in str(failed.value)
    assert "'visma_id'" in str(failed.value)
    assert not options.out.exists()


def test_asked_again_until_the_mapping_binds_then_written(tmp_path: Path) -> None:
    options = _board_without_visma_id(_options(tmp_path, accept=False))
    answers = iter(["", "",  # the proposal: 'Ref' shows the reference, 'Key' nothing
                    "2", "visma_id",  # which column to change, and to what
                    "y"])  # fmt: skip
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    out = io.StringIO()
    nothing = Preview({}, "no preview: test")
    status = asyncio.run(map_board(options, ask=ask, out=out, env=ENV, preview=lambda _: nothing))

    assert status == 0
    assert "no column holds Visma field 'visma_id'" in out.getvalue()
    assert asked[2] == "Change which column (1-2, Enter to quit)? "
    assert load_mappings(options.out).board(options.board).columns == {
        "reference_number": "text_ref",
        "ref_number": "text_ref",
        "reference": "text_ref",
        "visma_id": "text_key",
    }


def test_asked_before_changing_an_existing_file_and_no_leaves_it(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("tenant: t1\nboards:\n  - board: 77\n")
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "n" if prompt.startswith(str(path)) else ""

    out = io.StringIO()
    status = asyncio.run(
        map_board(_options(tmp_path, accept=False), ask=ask, out=out, env=ENV,
                  preview=lambda _: Preview({}, "no preview: test"))
    )  # fmt: skip

    assert status == 1
    assert asked[-1] == f"{path} exists (boards 77): write board {BOARD} into it? [y/N] "
    assert out.getvalue().endswith("nothing written\n")
    assert path.read_text() == "tenant: t1\nboards:\n  - board: 77\n"


def test_the_token_comes_from_the_vault_by_name(tmp_path: Path) -> None:
    vault = CredentialVault(MemoryLog(), KeyRing(MasterKey.generate()))
    vault.put("monday/t1", SecretStr(DEMO_MONDAY_TOKEN))

    status, _ = _run(_options(tmp_path, credential="monday/t1", vault=lambda: vault), env={})
    assert status == 0
    with pytest.raises(WizardError, match=r"the monday token 'monday/t2': credential 'monday/t2' "
                                          r"is not in the vault"):  # fmt: skip
        _run(_options(tmp_path, credential="monday/t2", vault=lambda: vault), env=ENV)


@pytest.mark.parametrize(("answer", "created"), [("y", True), ("", False)])
def test_asked_whether_monday_may_add_labels_when_a_status_column_is_mapped(
    tmp_path: Path, answer: str, created: bool
) -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return answer if prompt.startswith("May monday") else ""

    status = asyncio.run(
        map_board(_options(tmp_path, accept=False), ask=ask, out=io.StringIO(), env=ENV,
                  preview=lambda _: Preview({}, "no preview: test"))
    )  # fmt: skip

    assert status == 0
    assert "May monday add labels 'Approval' lacks for a Visma value? [y/N] " in asked
    assert load_mappings(tmp_path / "mapping.yaml").board(BOARD).create_labels_if_missing is created


def test_accept_creates_labels_only_when_told(tmp_path: Path) -> None:
    _run(_options(tmp_path, create_labels=True))

    assert load_mappings(tmp_path / "mapping.yaml").board(BOARD).create_labels_if_missing
