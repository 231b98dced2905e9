"""The `mlc` command line: help that says what each command does, cheap to ask for."""

from __future__ import annotations

import pytest

from events.command_topics import COMMAND_TOPICS
from events.visma_entities import VISMA_EVENTS
from mlc.cli import main

pytestmark = pytest.mark.unit


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # unwrapped


def test_run_processor_help_names_every_entity_and_target_under_its_real_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "2000")  # argparse wraps at hyphens otherwise
    out = _help(["run", "processor", "--help"], capsys)
    assert out.startswith("usage: mlc run processor ")
    for entity in VISMA_EVENTS:
        assert entity in out
    for spec in COMMAND_TOPICS.values():
        assert spec.name in out
    assert "MLC_LOG_LEVEL" in out
