"""`mlc run credential-check` as a process: one cycle against the sandbox (a process too),
secrets from a vault on the real broker, the results on its /metrics; nothing written in
any system. Every test has its own credentials topic."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from chassis.settings import KafkaSettings
from chassis.vault import MasterKey, VaultSettings, vault_from_environment
from mlc.processes import Child, python_module
from mlc.stack import free_port, start_sandbox
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_USERNAME
from sandbox.config import DEMO_CLIENT_ID
from sandbox.monday.config import DEMO_MONDAY_TOKEN
from sandbox.twilio.config import DEMO_SENDGRID_KEY

pytestmark = pytest.mark.integration


def _check_file(path: Path, base: str) -> Path:
    visma = {
        "client_id": DEMO_CLIENT_ID,
        "api_base": f"{base}/visma",
        "token_url": f"{base}/visma/connect/token",
        "companies": ["tenant-se-1"],
    }
    bill = {
        "dev_key_credential": "bill/dev-key",
        "username": DEMO_USERNAME,
        "organization_id": DEMO_ORGANIZATION_ID,
        "api_base": f"{base}/bill/connect/v3",
    }
    path.write_text(
        yaml.safe_dump(
            {
                "visma": [
                    {"credential": "visma/good", **visma},
                    {"credential": "visma/rotated", **visma},
                ],
                "sendgrid": [{"credential": "sendgrid/key", "api_base": f"{base}/sendgrid"}],
                "monday": [{"credential": "monday/token", "api_base": f"{base}/monday"}],
                "bill": [{"credential": "bill/old-password", **bill}],
            }
        )
    )
    return path


def _samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(url, timeout=10).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("mlc_credential_check")
    }


def test_one_cycle_publishes_each_credentials_result_and_changes_nothing(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    key = MasterKey.generate().to_base64()
    topic = f"state.credentials-{unique}.v1"
    vault = vault_from_environment(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        settings=VaultSettings(master_key=SecretStr(key), credentials_topic=topic),
    )
    for name, value in {
        "visma/good": "mlc-demo-secret",
        "visma/rotated": "the-secret-before-rotation",
        "sendgrid/key": DEMO_SENDGRID_KEY,
        "monday/token": DEMO_MONDAY_TOKEN,
        "bill/old-password": "the-password-before-the-change",
        "bill/dev-key": DEMO_DEV_KEY,
    }.items():
        vault.put(name, SecretStr(value))
    sandbox, base = start_sandbox(tmp_path / "sandbox", "--port", "0")
    port = free_port()
    check = Child(
        "credential-check",
        python_module("credential_check", "--config",
                      str(_check_file(tmp_path / "check.yaml", base)), "--every-minutes", "60"),
        tmp_path / "credential-check.log",
        env={"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "MLC_MASTER_KEY": key,
             "MLC_CREDENTIALS_TOPIC": topic, "MLC_HEALTH_PORT": str(port)},
    )  # fmt: skip
    try:
        visma_before = httpx.get(f"{base}/visma/_sandbox/stats").json()["record_changes"]
        started = time.monotonic()
        check.start().wait_for_log("credentials checked", timeout=60)
        cycle_seconds = time.monotonic() - started
        samples = _samples(f"http://127.0.0.1:{port}/metrics")
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code
        visma_after = httpx.get(f"{base}/visma/_sandbox/stats").json()["record_changes"]
        sendgrid = httpx.get(f"{base}/sendgrid/_sandbox/stats").json()
    finally:
        check.stop()
        sandbox.stop()

    def ok(system: str, credential: str) -> float:
        labels = frozenset({"system": system, "credential": credential}.items())
        return samples[("mlc_credential_check_ok", labels)]

    assert ok("visma", "visma/good") == 1
    assert ok("visma", "visma/rotated") == 0
    assert ok("sendgrid", "sendgrid/key") == 1
    assert ok("monday", "monday/token") == 1
    assert ok("bill", "bill/old-password") == 0
    headroom = {
        (dict(labels)["system"], dict(labels)["measure"]): value
        for (name, labels), value in samples.items()
        if name == "mlc_credential_check_headroom"
    }
    assert headroom[("visma", "requests_left_this_hour")] == 499
    assert headroom[("monday", "complexity_left_this_minute")] > 0
    assert headroom[("monday", "calls_left_today")] == 10_000 - 2  # me, platform_api
    assert set(headroom) == {
        ("visma", "requests_left_this_hour"), ("monday", "complexity_left_this_minute"),
        ("monday", "calls_left_today"),
    }  # fmt: skip
    assert samples[("mlc_credential_check_last_cycle_timestamp_seconds", frozenset())] > 0
    assert ready == 200
    assert visma_after == visma_before
    assert sendgrid["accepted"] == 0
    log = (tmp_path / "credential-check.log").read_text()
    assert "the-secret-before-rotation" not in log
    assert DEMO_SENDGRID_KEY not in log
    assert cycle_seconds < 60
