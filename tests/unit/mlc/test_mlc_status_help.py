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
    assert "held: keys the group's running members hold" in out
    assert "held C0123ABC credential-held since 2026-12-03 08:58:01Z" in out


def test_mlc_help_lists_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "status" in capsys.readouterr().out
