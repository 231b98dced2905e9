"""Ingress settings: the Slack signing secret has one source, errors name variables, not values."""

from __future__ import annotations

import re

import pytest

from chassis.errors import PermanentError
from ingress.config import IngressConfigError, IngressSettings, load_settings

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
