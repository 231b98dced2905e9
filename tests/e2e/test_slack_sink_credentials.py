"""A revoked Slack token holds its workspace's commands; a replaced one delivers each once.

The sink reads its bot token from the credential vault (a compacted topic of this test). The
Slack sandbox's admin revokes the token; commands keep arriving and must be neither posted,
nor lost, nor dead-lettered while the alert is logged and the metric set. Storing a new token
in the vault (what `mlc secrets set` does) releases them without a restart.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from pydantic import SecretStr

from chassis.settings import KafkaSettings
from chassis.vault import CredentialVault, KafkaCredentialLog, KeyRing, MasterKey
from mlc.cli import main as mlc_main
from mlc.processes import Child, python_module
from mlc.stack import SANDBOX_SECRETS, FlowStack, command_ids
from tests.e2e.conftest import settle, wait_for_posts
from tests.e2e.test_slack_sink import command, produce

pytestmark = pytest.mark.e2e

OLD_TOKEN = SANDBOX_SECRETS["SLACK_BOT_TOKEN"]
NEW_TOKEN = "xoxb-mlc-replaced-token"
CREDENTIAL = "slack/default"


def start_sink(stack: FlowStack, *args: str, env: dict[str, str] | None = None) -> Child:
    """The sink as `mlc run slack-sink` runs it, on the stack's topics, with extra options."""
    t = stack.topics
    argv = python_module(
        "slack_sink",
        "--api-base", f"{stack.base_url}/slack/api",
        "--group-id", f"run-{stack.run_id}-sink",
        "--commands-topic", t.commands,
        "--ledger-topic", t.ledger,
        *args,
    )  # fmt: skip
    env = SANDBOX_SECRETS | (env or {})
    child = Child("slack-sink", argv, stack.state_dir / "slack-sink.log", env).start()
    stack.children["slack-sink"] = child
    return child


def metric(child: Child, name: str, labels: str) -> float | None:
    """One sample from the sink's /metrics (its health port is in its start-up log line)."""
    found = re.search(r'"health_port": (\d+)', child.log_path.read_text(errors="replace"))
    if found is None:
        return None
    text = httpx.get(f"http://127.0.0.1:{found.group(1)}/metrics", timeout=10).text
    sample = re.search(rf"^{name}\{{{re.escape(labels)}\}} (\S+)$", text, re.MULTILINE)
    return float(sample.group(1)) if sample else None


def wait_until(condition: Callable[[], bool], stack: FlowStack, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        stack.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.3)


def dlq_size(kafka: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": f"{topic}-size"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return int(high - low)
    finally:
        consumer.close()


def held_keys(group: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]] | None:
    """The held keys `mlc status --json` shows for the group; None before the group exists."""
    if mlc_main(["status", "--group", group, "--interval", "0", "--json"]) != 0:
        capsys.readouterr()
        return None
    [shown] = json.loads(capsys.readouterr().out)
    held: list[dict[str, Any]] = shown["held"]
    return held


def test_a_revoked_token_holds_every_command_until_the_credential_is_replaced(
    make_stack: Callable[..., FlowStack],
    kafka_bootstrap: str,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    admin = f"{stack.base_url}/slack/_sandbox"
    key = MasterKey.generate()
    credentials_topic = f"it.credentials.{unique}.v1"
    store = KafkaCredentialLog(
        KafkaSettings(bootstrap_servers=kafka_bootstrap), topic=credentials_topic
    )
    store.ensure_topic()
    vault = CredentialVault(store, KeyRing(key))
    vault.put(CREDENTIAL, SecretStr(OLD_TOKEN))
    sink = start_sink(
        stack,
        "--workspace-credential", f"default={CREDENTIAL}",
        env={"MLC_MASTER_KEY": key.to_base64(), "MLC_CREDENTIALS_TOPIC": credentials_topic,
             "MLC_LOG_LEVEL": "INFO"},
    )  # fmt: skip
    before = [command("ap-approvals", n) for n in range(3)]
    produce(kafka_bootstrap, stack.topics.commands, before)
    wait_for_posts(stack, {c.command_id for c in before}, timeout=60)

    httpx.post(f"{admin}/tokens/{OLD_TOKEN}/revoke", timeout=10).raise_for_status()
    held = [command(channel, n) for n in range(3, 9) for channel in ("ap-approvals", "ap-large")]
    produce(kafka_bootstrap, stack.topics.commands, held)
    wait_until(
        lambda: metric(sink, "mlc_slack_credential_invalid", 'workspace="default"') == 1.0,
        stack, "the credential alert metric", timeout=60,
    )  # fmt: skip
    # Both channels' heads are held (not retried on a timer, not dead-lettered) ...
    wait_until(
        lambda: (metric(sink, "mlc_records_held", f'group="run-{stack.run_id}-sink"') or 0) >= 2,
        stack, "both channels held", timeout=60,
    )  # fmt: skip
    # `mlc status` shows both channels' keys as credential-held (chassis.kafka.held_keys).
    group = f"run-{stack.run_id}-sink"
    wait_until(
        lambda: len(held_keys(group, capsys) or []) == 2, stack, "mlc status shows 2 held keys",
        timeout=60,
    )  # fmt: skip
    shown = held_keys(group, capsys) or []
    assert {h["kind"] for h in shown} == {"credential-held"}
    assert {h["reason"] for h in shown} == {"default: credential refused"}
    logged = sink.log_path.read_text(errors="replace")
    assert "ALERT: Slack rejected the workspace credential" in logged
    assert "token_revoked" in logged
    assert OLD_TOKEN not in logged
    # ... and nothing of them reached Slack.
    assert Counter(command_ids(stack.posted())) == Counter(c.command_id for c in before)

    httpx.post(f"{admin}/tokens", json={"token": NEW_TOKEN}, timeout=10).raise_for_status()
    vault.put(CREDENTIAL, SecretStr(NEW_TOKEN))

    wait_for_posts(stack, {c.command_id for c in held}, timeout=90)
    posted = settle(stack, 2.5)
    assert Counter(command_ids(posted)) == Counter(c.command_id for c in before + held)
    for channel in ("ap-approvals", "ap-large"):
        texts = [m["text"] for m in posted if m["channel_name"] == channel]
        assert texts == [c.text for c in before + held if c.channel == channel]
    assert metric(sink, "mlc_slack_credential_invalid", 'workspace="default"') == 0.0
    assert dlq_size(kafka_bootstrap, f"dlq.run-{stack.run_id}-sink.v1") == 0
    wait_until(lambda: held_keys(group, capsys) == [], stack, "no held keys", timeout=30)
    assert NEW_TOKEN not in sink.log_path.read_text(errors="replace")
