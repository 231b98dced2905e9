"""`mlc status --help` names its options and shows an example, and says what held keys are."""

from __future__ import annotations

import pytest

from mlc.cli import main

pytestmark = pytest.mark.unit


def test_status_help_shows_its_options_and_an_example(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "2000")
    with pytest.raises(SystemExit) as exited:
        main(["status", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith(
        "usage: mlc status [-h] [--group GROUP] [--prefix PREFIX] [--interval INTERVAL]"
    )
    assert "mlc status --group mlc-slack-sink --json" in out
    assert 'not on the broker: shown as "not exposed"' in out


def test_mlc_help_lists_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "status" in capsys.readouterr().out
