"""The command line: rules are validated before anything touches Kafka."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.main import main

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[3] / "services" / "processor" / "rules.example.yaml"


def test_check_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rules", str(EXAMPLE), "--check"]) == 0
    assert "2 rules OK" in capsys.readouterr().out


def test_bad_rules_exit_2_with_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(EXAMPLE.read_text().replace("DKK: 8000", "DKK: eight"))
    assert main(["--rules", str(bad)]) == 2
    assert "rules.yaml line 23: rules[1].when.min_amount.DKK" in capsys.readouterr().err


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--rules FILE" in out
    assert "KAFKA_BOOTSTRAP_SERVERS" in out
