"""Secrets only where needed: no demo child gets a secret value, only its own credential names."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlc.stack import (
    APPROVAL_SERVICES,
    SANDBOX_SECRETS,
    SANDBOX_SLACK_SIGNING_SECRET,
    FlowStack,
)

pytestmark = pytest.mark.unit

VALUES = (*SANDBOX_SECRETS.values(), SANDBOX_SLACK_SIGNING_SECRET)
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
        ("ingress", "slack/signing-secret", "visma/"),
    ],
)
def test_each_service_is_told_only_its_own_credential(
    stack: FlowStack, name: str, own: str, foreign: str
) -> None:
    handed = _everything_handed_to(stack, name)
    assert own in handed
    assert foreign not in handed
