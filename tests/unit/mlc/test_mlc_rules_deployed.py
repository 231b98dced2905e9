"""A rule that targets a sink nobody deployed is reported by `mlc rules test` and the processor."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mlc.rules_cli import rules_test
from processor.main import main as processor_main

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[3] / "services/processor/examples"
EVERY_SINK = "slack,sms,email,monday,airbase,visma_writer"


def _rules_test() -> str:
    out = io.StringIO()
    code = rules_test(EXAMPLES / "rules.yaml", event=EXAMPLES / "supplier-invoice.json", out=out)
    assert code == 0
    return out.getvalue()


def test_rules_test_names_each_rule_whose_target_has_no_sink(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLC_DEPLOYED_SINKS", raising=False)  # the default: what ships
    warnings = [line for line in _rules_test().splitlines() if line.startswith("warning:")]
    assert len(warnings) == 5, warnings  # SMS and email have the twilio-sink
    for rule in ("logistics-due-soon", "procurement-board", "collections-board", "reference-board"):
        assert any(f"'{rule}' targets monday, but" in w for w in warnings)
    assert any("'payments-to-airbase' targets airbase, but" in w for w in warnings)
    assert all("MLC_DEPLOYED_SINKS=email,slack,sms,visma_writer" in w for w in warnings)


def test_rules_test_is_quiet_when_every_target_has_its_sink(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLC_DEPLOYED_SINKS", EVERY_SINK)
    assert "warning:" not in _rules_test()


def test_processor_check_reports_undeployed_targets_and_refuses_an_unknown_sink(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLC_DEPLOYED_SINKS", "slack,sms,email,monday")
    assert processor_main(["--rules", str(EXAMPLES / "rules.yaml"), "--check"]) == 0
    out = capsys.readouterr().out
    assert "warning: rule 'payments-to-airbase' targets airbase" in out
    assert out.count("warning:") == 1
    monkeypatch.setenv("MLC_DEPLOYED_SINKS", "slack,pigeon")
    assert processor_main(["--rules", str(EXAMPLES / "rules.yaml"), "--check"]) == 2
    assert "unknown sink pigeon" in capsys.readouterr().err
