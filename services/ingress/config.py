"""Ingress settings from the environment (`MLC_INGRESS_*`)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.errors import PermanentError
from events.airbase import AIRBASE_WEBHOOKS
from events.bill import BILL_BILLS, BILL_VENDORS
from events.monday import MONDAY_COLUMN_CHANGES
from events.notifications import VISMA_NOTIFICATIONS
from events.slack_events import SLACK_EVENTS
from events.twilio_status import TWILIO_MESSAGE_STATUSES

# Slack retries a delivery not acknowledged within 3 s; the answer must leave before that.
SLACK_ACK_DEADLINE_SECONDS = 3.0
# The largest message the producer sends (librdkafka's default message.max.bytes), below
# the broker's default max.message.bytes (1,048,588); the topics keep the broker's default.
KAFKA_MAX_MESSAGE_BYTES = 1_000_000
# Room for the key, the headers and the batch framing around one record's value.
RECORD_MARGIN_BYTES = 64 * 1024
MAX_RECORD_BYTES = KAFKA_MAX_MESSAGE_BYTES - RECORD_MARGIN_BYTES
"""The largest record value the ingress hands to Kafka; a larger one is refused with 413."""


class IngressSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_INGRESS_", extra="ignore")

    host: str = "0.0.0.0"  # noqa: S104 - a pod listens on all its interfaces
    port: int = Field(default=8080, ge=0, le=65535)
    visma_webhook_secret: SecretStr | None = Field(
        default=None,
        description="development only: the signature key Visma showed once when subscribing; "
        "production names it in the vault (visma_webhook_secret_credential)",
    )
    visma_webhook_secret_credential: str | None = Field(
        default=None, min_length=1, description="vault name of Visma's webhook signature key"
    )
    visma_signature_header: str = Field(
        default="X-Visma-Signature", description="the header name is not publicly confirmed"
    )
    ack_timeout_seconds: float = Field(
        default=2.5,
        ge=0.2,
        lt=SLACK_ACK_DEADLINE_SECONDS,
        description="longest wait for Kafka before answering 503; under Slack's 3 s deadline",
    )
    visma_topic: str = VISMA_NOTIFICATIONS.name
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="the Slack app's signing secret (development: from the env)"
    )
    slack_signing_secret_credential: str | None = Field(
        default=None,
        min_length=1,
        description="name of the signing secret in the credential vault (production)",
    )
    slack_topic: str = SLACK_EVENTS.name
    slack_recent_event_ids: int = Field(
        default=100_000,
        ge=1,
        description="event ids remembered per process so Slack's retries are stored once",
    )
    visma_recent_notifications: int = Field(
        default=100_000,
        ge=1,
        description="notification ids remembered per process so a replay is stored once",
    )
    visma_replay_window_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="how long an exact repeat of a Visma notification is dropped (one hour: "
        "the period of a company's Visma call budget)",
    )
    twilio_status_callback_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s?#]+$",
        description="the public URL Twilio posts status callbacks to, as registered in each "
        "message's StatusCallback (without its query): Twilio signs that URL, not the one a "
        "proxy hands the ingress. Unset: POST /webhooks/twilio/status answers 503",
    )
    twilio_auth_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="development only: account SID -> auth token, as JSON; production reads "
        "each account's token from the vault (twilio_auth_token_credential)",
    )
    twilio_auth_token_credential: str = Field(
        default="twilio/{account_sid}/auth-token",
        min_length=1,
        description="vault name of an account's auth token; {account_sid} is replaced (a "
        "name without it serves a single account). An account that sends with an API key "
        "still signs its callbacks with its auth token",
    )
    twilio_topic: str = TWILIO_MESSAGE_STATUSES.name
    twilio_recent_callbacks: int = Field(
        default=100_000,
        ge=1,
        description="(message, status) pairs remembered per process so a repeated callback "
        "is stored once",
    )
    monday_webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s?#]+$",
        description="the public URL of POST /webhooks/monday as registered with monday (without "
        "its query): the JWT's aud must be it, with the request's query. Needed with a signing "
        "secret (503 without)",
    )
    monday_signing_secret: SecretStr | None = Field(
        default=None,
        description="development only: the monday app's Signing Secret; production names it "
        "in the vault (monday_signing_secret_credential). Unset: unsigned webhooks are taken",
    )
    monday_signing_secret_credential: str | None = Field(
        default=None, min_length=1, description="vault name of the monday app's Signing Secret"
    )
    monday_jwt_leeway_seconds: float = Field(
        default=5.0, ge=0, le=60, description="clock skew allowed when checking the JWT's exp"
    )
    monday_default_tenant: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="the tenant of a monday webhook whose URL has no ?tenant= (one-tenant setups)",
    )
    monday_topic: str = MONDAY_COLUMN_CHANGES.name
    monday_recent_triggers: int = Field(
        default=100_000,
        ge=1,
        description="triggerUuids remembered per process so monday's retries are stored once",
    )
    bill_vendor_topic: str = BILL_VENDORS.name
    bill_bill_topic: str = BILL_BILLS.name
    bill_recent_events: int = Field(
        default=100_000,
        ge=1,
        description="BILL eventIds remembered per process so BILL's retries are stored once",
    )
    airbase_topic: str = AIRBASE_WEBHOOKS.name
    airbase_signature_header: str = Field(
        default="X-Airbase-Signature",
        min_length=1,
        description="the header Airbase signs webhooks in (UNCONFIRMED: portal-managed)",
    )
    airbase_signature_prefix: str = Field(
        default="sha256=", description="what precedes the hex HMAC-SHA256 in the header"
    )
    airbase_secret_credential: str = Field(
        default="airbase/{tenant}/webhook-secret",
        min_length=1,
        description="vault name of a tenant's webhook signing secret; {tenant} is replaced. "
        "A tenant without one has its webhooks taken unsigned (they only nudge a pull)",
    )
    airbase_webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="development only: tenant -> signing secret, as JSON; production reads "
        "them from the vault (airbase_secret_credential)",
    )
    airbase_default_tenant: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="the tenant of an Airbase webhook whose URL has no ?tenant= (one tenant)",
    )
    airbase_tenants: list[str] | None = Field(
        default=None,
        description="the tenants whose Airbase webhooks are taken, as JSON (unset: any named "
        "one). Webhooks of a tenant without a secret are taken unsigned: the list keeps "
        "strangers from storing records under a made-up tenant",
    )
    airbase_recent_events: int = Field(
        default=100_000,
        ge=1,
        description="Airbase event ids remembered per process so a redelivery is stored once",
    )
    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        le=MAX_RECORD_BYTES,
        description="largest request body read; larger is a 413 before it is read. Below "
        "the largest Kafka record, so whatever is accepted can be stored",
    )
    max_inflight_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="request body bytes held at once across all requests; beyond, a 503",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="open connections at most (uvicorn's limit_concurrency; beyond, a 503): "
        "each may hold up to 64 KiB the server read ahead, on top of the body budget",
    )
    body_read_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="longest time to receive a whole request body; a slower one is a 408",
    )

    @field_validator("slack_signing_secret", "monday_signing_secret", "visma_webhook_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("the signing secret is set but blank")
        return value

    @model_validator(mode="after")
    def _room_for_one_body(self) -> Self:
        if self.max_inflight_body_bytes < self.max_body_bytes:
            raise ValueError(
                "MLC_INGRESS_MAX_INFLIGHT_BODY_BYTES must hold at least one body of "
                "MLC_INGRESS_MAX_BODY_BYTES"
            )
        return self

    @model_validator(mode="after")
    def _one_source_for_the_signing_secret(self) -> Self:
        if self.visma_webhook_secret is not None and self.visma_webhook_secret_credential:
            raise ValueError(
                "set MLC_INGRESS_VISMA_WEBHOOK_SECRET or "
                "MLC_INGRESS_VISMA_WEBHOOK_SECRET_CREDENTIAL (a vault name), not both"
            )
        if self.slack_signing_secret is not None and self.slack_signing_secret_credential:
            raise ValueError(
                "set MLC_INGRESS_SLACK_SIGNING_SECRET or "
                "MLC_INGRESS_SLACK_SIGNING_SECRET_CREDENTIAL (a vault name), not both"
            )
        if self.monday_signing_secret is not None and self.monday_signing_secret_credential:
            raise ValueError(
                "set MLC_INGRESS_MONDAY_SIGNING_SECRET or "
                "MLC_INGRESS_MONDAY_SIGNING_SECRET_CREDENTIAL (a vault name), not both"
            )
        return self

    @property
    def kafka_delivery_timeout_ms(self) -> int:
        """Kafka gives up on a record before the route answers 503, so a refused event is
        not stored later behind the sender's back (the sender retries it anyway)."""
        return int(self.ack_timeout_seconds * 800)


class IngressConfigError(PermanentError):
    """The environment does not describe a usable ingress; the message names each problem."""


def load_settings() -> IngressSettings:
    """Settings from the environment, with errors that never echo a value (it may be a secret)."""
    try:
        return IngressSettings()
    except ValidationError as exc:
        problems = "; ".join(
            _problem(error["loc"], error["msg"])
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise IngressConfigError(f"invalid ingress settings: {problems}") from None


def _problem(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    if not location:
        return message
    return f"{message} [MLC_INGRESS_{str(location[0]).upper()}]"
