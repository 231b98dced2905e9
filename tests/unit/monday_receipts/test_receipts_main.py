"""`mlc run monday-receipts`: its help, and a start that cannot work stops with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from chassis.settings import KafkaSettings
from mlc.cli import SERVICES
from monday_receipts.config import ReceiptsConfigError, ReceiptsSettings
from monday_receipts.main import main, monday_token, parser

pytestmark = pytest.mark.unit


def test_the_help_says_what_goes_in_and_out() -> None:
    description = " ".join((parser().description or "").split())

    assert "monday.column-change.v1" in description
    assert "sink.visma-writer.v1" in description
    assert "30 minutes" in description
    assert SERVICES["monday-receipts"] == "monday_receipts.main"


def test_a_bad_receipts_file_stops_the_start_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "receipts.yaml"
    config.write_text("tenants:\n  acme:\n    boards: []\n")

    assert main(["--config", str(config)]) == 2

    assert "tenants.acme.boards" in capsys.readouterr().out


def test_without_a_token_the_start_says_where_to_put_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLC_MONDAY_RECEIPTS_TOKEN", raising=False)
    monkeypatch.delenv("MLC_MONDAY_RECEIPTS_TOKEN_CREDENTIAL", raising=False)
    config = tmp_path / "receipts.yaml"
    config.write_text("tenants:\n  acme:\n    boards: [{board: '1', company: '1'}]\n")

    assert main(["--config", str(config)]) == 2

    assert "MLC_MONDAY_RECEIPTS_TOKEN_CREDENTIAL" in capsys.readouterr().out


def test_a_development_token_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLC_MONDAY_RECEIPTS_TOKEN", raising=False)
    monkeypatch.delenv("MLC_MONDAY_RECEIPTS_TOKEN_CREDENTIAL", raising=False)
    settings = ReceiptsSettings(token=SecretStr("dev-token"))

    assert monday_token(settings, KafkaSettings()).get_secret_value() == "dev-token"
    with pytest.raises(ReceiptsConfigError):
        monday_token(ReceiptsSettings(), KafkaSettings())
