"""The credential-check gauges follow the probe results: OK 1/0 per system and credential,
latency in seconds, the headroom each probe saw (removed when a cycle did not see it), and
when the last cycle ended; the alert rules name only metrics that exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from credential_check.metrics import CYCLES, HEADROOM, LAST_CYCLE, LATENCY, OK, CheckGauges
from credential_check.result import COMPLEXITY_LEFT, DAILY_CALLS_LEFT, HOUR_LEFT, CheckResult

pytestmark = pytest.mark.unit

RULES = Path(__file__).resolve().parents[3] / "deploy/prometheus/credential-check.rules.yaml"


def _result(
    system: str, credential: str, *, ok: bool, latency_ms: float = 100.0, **headroom: float
) -> CheckResult:
    return CheckResult(
        system=system,
        credential=credential,
        ok=ok,
        detail="seen",
        latency_ms=latency_ms,
        headroom=headroom,
    )


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_one_cycle_sets_ok_latency_headroom_and_the_cycle_time() -> None:
    registry = CollectorRegistry()
    gauges = CheckGauges(registry)

    gauges.publish(
        [
            _result("visma", "visma/acme", ok=True, latency_ms=412.0, **{HOUR_LEFT: 480.0}),
            _result("bill", "bill/password", ok=False, latency_ms=95.0),
            _result("monday", "monday/token", ok=True, **{COMPLEXITY_LEFT: 9_000_000.0}),
        ],
        now=1_767_000_000.0,
    )

    assert _value(registry, OK, system="visma", credential="visma/acme") == 1
    assert _value(registry, OK, system="bill", credential="bill/password") == 0
    assert _value(registry, LATENCY, system="visma", credential="visma/acme") == 0.412
    assert _value(registry, LATENCY, system="bill", credential="bill/password") == 0.095
    visma = {"system": "visma", "credential": "visma/acme", "measure": HOUR_LEFT}
    assert _value(registry, HEADROOM, **visma) == 480
    monday = {"system": "monday", "credential": "monday/token", "measure": COMPLEXITY_LEFT}
    assert _value(registry, HEADROOM, **monday) == 9_000_000
    assert _value(registry, HEADROOM, system="bill", credential="bill/password",
                  measure=HOUR_LEFT) is None  # fmt: skip
    assert _value(registry, LAST_CYCLE) == 1_767_000_000
    assert _value(registry, f"{CYCLES}_total", result="ran") == 1


def test_a_credential_checked_twice_is_ok_only_if_both_passed_with_the_smaller_headroom() -> None:
    registry = CollectorRegistry()
    gauges = CheckGauges(registry)

    gauges.publish(
        [
            _result("slack", "slack/default", ok=True, latency_ms=50.0),
            _result("slack", "slack/default", ok=False, latency_ms=70.0),
            _result("airbase", "airbase/t1", ok=True, **{HOUR_LEFT: 900.0}),
            _result("airbase", "airbase/t1", ok=True, **{HOUR_LEFT: 40.0}),
        ],
        now=1.0,
    )

    assert _value(registry, OK, system="slack", credential="slack/default") == 0
    assert _value(registry, LATENCY, system="slack", credential="slack/default") == 0.07
    assert _value(registry, HEADROOM, system="airbase", credential="airbase/t1",
                  measure=HOUR_LEFT) == 40  # fmt: skip


def test_a_failing_credential_turns_0_and_loses_its_stale_headroom() -> None:
    registry = CollectorRegistry()
    gauges = CheckGauges(registry)
    labels = {"system": "visma", "credential": "visma/acme"}
    gauges.publish([_result("visma", "visma/acme", ok=True, **{HOUR_LEFT: 480.0})], now=1.0)

    gauges.publish([_result("visma", "visma/acme", ok=False)], now=2.0)

    assert _value(registry, OK, **labels) == 0
    assert _value(registry, HEADROOM, **labels, measure=HOUR_LEFT) is None
    assert _value(registry, LAST_CYCLE) == 2
    assert _value(registry, f"{CYCLES}_total", result="ran") == 2


def test_the_alert_rules_use_the_published_metrics() -> None:
    rules = yaml.safe_load(RULES.read_text())
    exprs = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    published = {OK, LATENCY, HEADROOM, LAST_CYCLE, f"{CYCLES}_total"}

    assert {"CredentialCheckFailing", "VismaRequestsRunningOut", "MondayComplexityRunningOut",
            "MondayDailyCallsRunningOut", "BillLoginFailing",
            "CredentialChecksStopped"} <= set(exprs)  # fmt: skip
    for alert, expr in exprs.items():
        named = {word for word in _words(expr) if word.startswith("mlc_")}
        assert named, alert
        assert named <= published, (alert, named - published)
    assert f'measure="{HOUR_LEFT}"' in exprs["VismaRequestsRunningOut"]
    assert f'measure="{COMPLEXITY_LEFT}"' in exprs["MondayComplexityRunningOut"]
    assert f'measure="{DAILY_CALLS_LEFT}"' in exprs["MondayDailyCallsRunningOut"]


def _words(expr: str) -> list[str]:
    cleaned = "".join(c if c.isalnum() or c == "_" else " " for c in expr)
    return cleaned.split()
