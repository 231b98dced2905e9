"""Secrets only where needed: no demo child gets a secret value, only its own credential names."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.command_topics import SINK_VISMA_WRITER
from events.notifications import VISMA_NOTIFICATIONS
from mlc.stack import (
    APPROVAL_SERVICES,
    SANDBOX_SECRETS,
    SANDBOX_SLACK_SIGNING_SECRET,
    SANDBOX_VISMA_WEBHOOK_KEY,
    FlowStack,
)
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_PASSWORD

pytestmark = pytest.mark.unit

VALUES = (*SANDBOX_SECRETS.values(), SANDBOX_SLACK_SIGNING_SECRET, SANDBOX_VISMA_WEBHOOK_KEY)
VAULT_SETTINGS = ("MLC_MASTER_KEY_FILE", "MLC_CREDENTIALS_TOPIC")


@pytest.fixture
def stack(tmp_path: Path) -> FlowStack:
    stack = FlowStack(run_id="secrets", state_dir=tmp_path, base_url="http://127.0.0.1:1")
    stack.ingress_port = 1
    return stack


def _everything_handed_to(stack: FlowStack, name: str) -> str:
    """The child's environment and argv, and the files its argv names (its config)."""
    child = stack._child(name)
    files = [Path(a).read_text() for a in child.argv if a.endswith(".yaml") and Path(a).exists()]
    return "\n".join([*child.env.keys(), *child.env.values(), *child.argv, *files])


@pytest.mark.parametrize("name", APPROVAL_SERVICES)
def test_no_child_gets_a_secret_value(stack: FlowStack, name: str) -> None:
    handed = _everything_handed_to(stack, name)
    for value in VALUES:
        assert value not in handed, f"{name} is handed {value!r}"
    for variable in SANDBOX_SECRETS:
        assert variable not in stack._child(name).env


def test_only_the_services_that_read_a_credential_can_open_the_vault(stack: FlowStack) -> None:
    openers = {
        name
        for name in APPROVAL_SERVICES
        if all(stack._child(name).env.get(v) for v in VAULT_SETTINGS)
    }
    assert openers == {"visma-poller", "visma-writer", "slack-sink", "approvals", "ingress"}
    assert not any(v in stack._child("processor").env for v in VAULT_SETTINGS)


@pytest.mark.parametrize(
    ("name", "own", "foreign"),
    [
        ("visma-poller", "visma/", "slack/"),
        ("visma-writer", "visma/", "slack/"),
        ("slack-sink", "slack/default", "visma/"),
        ("approvals", "slack/default", "visma/"),
        ("ingress", "slack/signing-secret", "visma/mlc-demo"),
    ],
)
def test_each_service_is_told_only_its_own_credential(
    stack: FlowStack, name: str, own: str, foreign: str
) -> None:
    handed = _everything_handed_to(stack, name)
    assert own in handed
    assert foreign not in handed


BILL_SECRETS = (DEMO_PASSWORD, DEMO_DEV_KEY)


@pytest.mark.parametrize("name", ["bill-poller", "bill-mapping"])
def test_the_bill_children_get_no_bill_secret_only_the_poller_the_vault(
    stack: FlowStack, name: str
) -> None:
    handed = _everything_handed_to(stack, name)
    for value in (*VALUES, *BILL_SECRETS):
        assert value not in handed, f"{name} is handed {value!r}"
    opens_vault = all(stack._child(name).env.get(v) for v in VAULT_SETTINGS)
    assert opens_vault == (name == "bill-poller")
    if name == "bill-poller":
        assert f"bill/{DEMO_ORGANIZATION_ID}/password" in handed
        assert "bill/devkey" in handed
    assert "visma/" not in handed
    assert "slack/" not in handed


def test_the_bill_children_and_the_writer_share_the_runs_topics(stack: FlowStack) -> None:
    prefix = stack.topics.prefix
    poller = stack._child("bill-poller").argv
    mapping = stack._child("bill-mapping").argv
    writer = stack._child("visma-writer").argv
    assert poller[poller.index("--topic-prefix") + 1] == prefix
    assert mapping[mapping.index("--topic-prefix") + 1] == prefix
    # The mapping writes <prefix>sink.visma-writer.v1 (events.command_topics), the writer reads it.
    assert writer[writer.index("--commands-topic") + 1] == prefix + SINK_VISMA_WRITER.name
    ingress = stack._child("ingress").env
    assert ingress["MLC_INGRESS_BILL_VENDOR_TOPIC"] == f"{prefix}bill.vendor.v1"
    assert ingress["MLC_INGRESS_BILL_BILL_TOPIC"] == f"{prefix}bill.bill.v1"


def test_the_runs_vault_holds_the_bill_sign_in_the_poller_is_told() -> None:
    vault = FlowStack(run_id="v", state_dir=Path("/nonexistent")).credentials()
    assert vault.values[f"bill/{DEMO_ORGANIZATION_ID}/password"].get_secret_value() == (
        DEMO_PASSWORD
    )
    assert vault.values["bill/devkey"].get_secret_value() == DEMO_DEV_KEY


def test_the_ingress_verifies_visma_webhooks_by_the_vaults_key_into_the_pollers_topic(
    stack: FlowStack,
) -> None:
    ingress = stack._child("ingress").env
    assert ingress["MLC_INGRESS_VISMA_WEBHOOK_SECRET_CREDENTIAL"] == "visma/webhook-key"
    assert "MLC_INGRESS_VISMA_WEBHOOK_SECRET" not in ingress
    assert stack.credentials().values["visma/webhook-key"].get_secret_value() == (
        SANDBOX_VISMA_WEBHOOK_KEY
    )
    # The visma-poller reads its notifications from <prefix>visma.notification.v1.
    poller = stack._child("visma-poller").argv
    prefix = poller[poller.index("--topic-prefix") + 1]
    assert ingress["MLC_INGRESS_VISMA_TOPIC"] == prefix + VISMA_NOTIFICATIONS.name
