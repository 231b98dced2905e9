"""Ingress settings: each signing secret has one source (the vault by name in production),
errors name variables, not values."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from pydantic import SecretStr

from chassis.errors import PermanentError
from chassis.vault import CredentialVault
from chassis.vault_envelope import KeyRing, MasterKey
from ingress.config import IngressConfigError, IngressSettings, load_settings
from ingress.main import with_vault_secrets

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("system", ["SLACK", "MONDAY"])
def test_both_a_secret_and_a_vault_name_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, system: str
) -> None:
    monkeypatch.setenv(f"MLC_INGRESS_{system}_SIGNING_SECRET", "s3cr3t-value-123")
    monkeypatch.setenv(f"MLC_INGRESS_{system}_SIGNING_SECRET_CREDENTIAL", "app/signing")
    with pytest.raises(IngressConfigError) as caught:
        load_settings()
    assert isinstance(caught.value, PermanentError), "on the connector's one error tree"
    message = str(caught.value)
    assert f"MLC_INGRESS_{system}_SIGNING_SECRET_CREDENTIAL" in message
    assert "not both" in message
    assert "s3cr3t-value-123" not in message


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MLC_INGRESS_SLACK_SIGNING_SECRET", "   ", "blank [MLC_INGRESS_SLACK_SIGNING_SECRET]"),
        ("MLC_INGRESS_MONDAY_SIGNING_SECRET", " ", "blank [MLC_INGRESS_MONDAY_SIGNING_SECRET]"),
        (
            "MLC_INGRESS_MONDAY_WEBHOOK_URL",
            "https://connector.example.com/webhooks/monday?tenant=a",
            "[MLC_INGRESS_MONDAY_WEBHOOK_URL]",
        ),
        ("MLC_INGRESS_ACK_TIMEOUT_SECONDS", "3", "less than 3 [MLC_INGRESS_ACK_TIMEOUT_SECONDS]"),
        ("MLC_INGRESS_SLACK_RECENT_EVENT_IDS", "0", "[MLC_INGRESS_SLACK_RECENT_EVENT_IDS]"),
        (
            "MLC_INGRESS_TWILIO_STATUS_CALLBACK_URL",
            "connector.example.com/webhooks/twilio/status",
            "[MLC_INGRESS_TWILIO_STATUS_CALLBACK_URL]",
        ),
        (
            "MLC_INGRESS_TWILIO_STATUS_CALLBACK_URL",
            "https://connector.example.com/status?x=1",
            "[MLC_INGRESS_TWILIO_STATUS_CALLBACK_URL]",
        ),
        (
            "MLC_INGRESS_TWILIO_AUTH_TOKEN_CREDENTIAL",
            "",
            "[MLC_INGRESS_TWILIO_AUTH_TOKEN_CREDENTIAL]",
        ),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(IngressConfigError, match=re.escape(expected)):
        load_settings()


def test_kafka_gives_up_on_a_record_before_the_route_answers() -> None:
    for ack in (0.2, 1.0, 2.5, 2.99):  # the whole allowed range
        settings = IngressSettings(ack_timeout_seconds=ack)
        assert settings.kafka_delivery_timeout_ms < ack * 1000


def test_the_server_bounds_its_open_connections() -> None:
    from fastapi import FastAPI

    from ingress.main import server_config

    config = server_config(FastAPI(), IngressSettings(max_connections=7))
    assert config.limit_concurrency == 7
    assert server_config(FastAPI(), IngressSettings()).limit_concurrency == 1000


def test_development_twilio_tokens_come_from_json_and_are_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = "AC" + "0123456789abcdef" * 2
    monkeypatch.setenv("MLC_INGRESS_TWILIO_AUTH_TOKENS", f'{{"{account}": "tok-123"}}')
    settings = load_settings()
    assert settings.twilio_auth_tokens[account].get_secret_value() == "tok-123"
    assert "tok-123" not in repr(settings)


class _Records:
    """The credentials topic as a dict (`chassis.vault.CredentialLog`)."""

    def __init__(self) -> None:
        self.log: list[tuple[str, bytes]] = []

    def read_all(self) -> dict[str, bytes]:
        return dict(self.log)

    def read_log(self) -> list[tuple[str, bytes]]:
        return list(self.log)

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        self.log.extend(records)


def test_the_visma_webhook_key_is_read_from_the_vault_by_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault = CredentialVault(_Records(), KeyRing(MasterKey.generate()))
    vault.put("visma/webhook-key", SecretStr("whsec-from-the-vault-42"))
    monkeypatch.setenv("MLC_INGRESS_VISMA_WEBHOOK_SECRET_CREDENTIAL", "visma/webhook-key")
    settings = with_vault_secrets(load_settings(), open_vault=lambda: vault)
    assert settings.visma_webhook_secret is not None
    assert settings.visma_webhook_secret.get_secret_value() == "whsec-from-the-vault-42"


def test_the_visma_webhook_key_has_one_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLC_INGRESS_VISMA_WEBHOOK_SECRET", "whsec-in-env-0123")
    monkeypatch.setenv("MLC_INGRESS_VISMA_WEBHOOK_SECRET_CREDENTIAL", "visma/webhook-key")
    with pytest.raises(IngressConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "MLC_INGRESS_VISMA_WEBHOOK_SECRET_CREDENTIAL" in message
    assert "not both" in message
    assert "whsec-in-env-0123" not in message
