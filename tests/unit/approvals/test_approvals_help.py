"""Who confirms an approval in Slack's thread: the Visma writer, through the Slack sink."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvals.main import parser

pytestmark = pytest.mark.unit

README = Path(__file__).resolve().parents[3] / "README.md"


def test_approvals_help_says_the_visma_writer_sends_the_thread_confirmation() -> None:
    description = " ".join((parser().description or "").split())
    sentence = next(s for s in description.split(". ") if "thread confirmation" in s)
    assert "writer" in sentence
    assert "sink.slack.v1" in description
    assert "sink.visma-writer.v1" in description


def test_readme_diagram_draws_the_confirmation_from_the_visma_writer() -> None:
    lines = README.read_text().splitlines()
    [row] = [i for i, line in enumerate(lines) if "──▶ visma-writer ──▶ Visma" in line]
    writer_column = lines[row].index("visma-writer ──▶ Visma")
    branch = lines[row + 1]
    assert branch.index("└──▶ sink.slack.v1") == writer_column, "drawn from another box"
