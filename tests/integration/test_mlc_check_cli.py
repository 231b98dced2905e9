"""`mlc check` as an operator runs it: the CLI process against the sandbox process, secrets
in a vault on the real broker, one good and one broken credential per system. The right
line for each, exit status 1 with a failure and 0 with only good ones, and every sandbox's
own write counters unchanged. Every test has its own credentials topic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from chassis.settings import KafkaSettings
from chassis.vault import MasterKey, VaultSettings, vault_from_environment
from mlc.stack import start_sandbox
from sandbox.airbase.config import DEMO_AIRBASE_TOKEN
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_PASSWORD, DEMO_USERNAME
from sandbox.config import DEMO_BOT_TOKEN, DEMO_CLIENT_ID
from sandbox.monday.config import DEMO_MONDAY_TOKEN
from sandbox.twilio.config import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_FROM, DEMO_SENDGRID_KEY

pytestmark = pytest.mark.integration

SECRETS = {
    "visma/good": "mlc-demo-secret",
    "visma/rotated": "the-secret-before-rotation",
    "slack/good": DEMO_BOT_TOKEN,
    "slack/uninstalled": "xoxb-uninstalled-app",
    "twilio/good": DEMO_AUTH_TOKEN,
    "twilio/changed": "0" * 32,
    "sendgrid/good": DEMO_SENDGRID_KEY,
    "sendgrid/revoked": "SG.revoked.key",
    "monday/good": DEMO_MONDAY_TOKEN,
    "monday/expired": "an-old-monday-token",
    "bill/good": DEMO_PASSWORD,
    "bill/old-password": "the-password-before-the-change",
    "bill/dev-key": DEMO_DEV_KEY,
    "airbase/good": DEMO_AIRBASE_TOKEN,
    "airbase/revoked": "airbase-revoked-token",
}


def _entries(base: str, good: bool) -> dict[str, list[dict[str, Any]]]:
    def name(system: str, broken: str) -> str:
        return f"{system}/good" if good else f"{system}/{broken}"

    return {
        "visma": [{"credential": name("visma", "rotated"), "client_id": DEMO_CLIENT_ID,
                   "api_base": f"{base}/visma", "token_url": f"{base}/visma/connect/token",
                   "companies": ["tenant-se-1", "tenant-no-1"]}],
        "slack": [{"credential": name("slack", "uninstalled"), "api_base": f"{base}/slack/api",
                   "channels": ["#ap-large"]}],
        "twilio": [{"credential": name("twilio", "changed"), "api_base": f"{base}/twilio",
                    "account_sid": DEMO_ACCOUNT_SID, "from_number": DEMO_FROM}],
        "sendgrid": [{"credential": name("sendgrid", "revoked"),
                      "api_base": f"{base}/sendgrid"}],
        "monday": [{"credential": name("monday", "expired"), "api_base": f"{base}/monday",
                    "boards": ["1000000001"]}],
        "bill": [{"credential": name("bill", "old-password"), "dev_key_credential": "bill/dev-key",
                  "username": DEMO_USERNAME, "organization_id": DEMO_ORGANIZATION_ID,
                  "api_base": f"{base}/bill/connect/v3"}],
        "airbase": [{"credential": name("airbase", "revoked"), "api_base": f"{base}/airbase"}],
    }  # fmt: skip


def _writes(base: str) -> dict[str, object]:
    """Each sandbox's own count of what was written in it."""

    def stats(system: str) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{base}/{system}/_sandbox/stats", timeout=10).json()
        return answer

    slack, monday = stats("slack"), stats("monday")
    return {
        "visma": stats("visma")["record_changes"],
        "slack": (slack["posted"], slack["updated"]),
        "twilio": stats("twilio")["created"],
        "sendgrid": stats("sendgrid")["accepted"],
        "monday": (monday["items_created"], monday["item_updates"]),
        "bill": stats("bill")["writes"],
        "airbase": stats("airbase")["writes"],
    }


def test_one_good_and_one_broken_credential_per_system(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    key = MasterKey.generate().to_base64()
    topic = f"state.credentials-{unique}.v1"
    vault = vault_from_environment(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        settings=VaultSettings(master_key=SecretStr(key), credentials_topic=topic),
    )
    for name, value in SECRETS.items():
        vault.put(name, SecretStr(value))
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "MLC_MASTER_KEY": key,
           "MLC_CREDENTIALS_TOPIC": topic}  # fmt: skip
    sandbox, base = start_sandbox(tmp_path / "sandbox", "--port", "0")
    files = {}
    for good in (True, False):
        files[good] = tmp_path / f"check-{'good' if good else 'broken'}.yaml"
        files[good].write_text(yaml.safe_dump(_entries(base, good), sort_keys=False))
    try:
        before = _writes(base)
        runs = {
            good: subprocess.run(
                [sys.executable, "-m", "mlc.cli", "check", "--config", str(files[good])],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env={**os.environ, **env},
            )
            for good in (True, False)
        }
        after = _writes(base)
    finally:
        sandbox.stop()

    good, broken = runs[True], runs[False]
    print(good.stdout, broken.stdout, sep="\n")  # the lines, for the record (-s)
    assert (good.returncode, broken.returncode) == (0, 1), (good.stderr, broken.stderr)
    assert good.stdout.splitlines()[-1] == "7 OK, 0 failed"
    assert broken.stdout.splitlines()[-1] == "0 OK, 7 failed"
    lines = {line.split()[0]: line for line in broken.stdout.splitlines()[:-1]}
    expected = {
        "visma": "client mlc-demo for tenant-se-1: Visma Connect refused the token request",
        "slack": "Slack refused the token: invalid_auth",
        "twilio": f"Twilio refused the credentials for {DEMO_ACCOUNT_SID}",
        "sendgrid": "SendGrid refused the API key: The provided authorization grant",
        "monday": "monday refused the token",
        "bill": f"BILL refused the sign-in to {DEMO_ORGANIZATION_ID}",
        "airbase": "Airbase refused the token",
    }
    for system, reason in expected.items():
        assert lines[system].split()[2] == "FAIL", lines[system]
        assert reason in lines[system]
        assert "-> " in lines[system]
    oks = {line.split()[0]: line for line in good.stdout.splitlines()[:-1]}
    assert set(oks) == set(expected)
    assert all(line.split()[2] == "OK" for line in oks.values())
    assert after == before
    for value in SECRETS.values():
        assert value not in good.stdout + good.stderr + broken.stdout + broken.stderr
