"""The runner's per-record retry budget: 24 hours for sinks unless MLC_RETRY_BUDGET_SECONDS."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chassis.kafka.runner import RunnerConfig
from chassis.settings import ServiceSettings
from slack_sink.inject import SinkOptions
from visma_writer.inject import WriterOptions

pytestmark = pytest.mark.unit

DAY = 24 * 3600.0


def test_sinks_retry_a_failing_record_for_a_day_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLC_RETRY_BUDGET_SECONDS", raising=False)
    assert ServiceSettings().retry_budget_seconds == DAY
    assert RunnerConfig(group_id="g", topics=("t",)).retry_budget == DAY
    assert SinkOptions().retry_budget == WriterOptions().retry_budget == DAY


def test_the_budget_comes_from_the_environment_and_must_be_positive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLC_RETRY_BUDGET_SECONDS", "3600")
    assert ServiceSettings().retry_budget_seconds == 3600.0
    monkeypatch.setenv("MLC_RETRY_BUDGET_SECONDS", "0")
    with pytest.raises(ValidationError, match="retry_budget_seconds"):
        ServiceSettings()
