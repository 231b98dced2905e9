"""Configuration of the Twilio and SendGrid simulators, with the demo's account.

Kept apart from ``sandbox.config`` (which embeds it) so the Twilio pieces read their
settings from one small module. The demo account's SID, Auth Token, API key and numbers are
published credentials of the sandbox, never real ones. Magic numbers follow Twilio's test
credentials (``+15005550001`` is an invalid To, ``+15005550004`` a blocked one,
``+15005550006`` a valid From, ...); the ``+4670003000x`` numbers end asynchronously in a
carrier error so a test or the demo can provoke each outcome by the number alone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr

DEMO_ACCOUNT_SID = "AC" + b"mlc-demo-account".hex()
DEMO_AUTH_TOKEN = b"mlc-demo-authtok".hex()  # published demo credential
DEMO_API_KEY_SID = "SK" + b"mlc-demo-api-key".hex()
DEMO_API_KEY_SECRET = "mlc-demo-api-key-secret-00000000"  # noqa: S105 - published demo credential
DEMO_MESSAGING_SERVICE_SID = "MG" + b"mlc-demo-msgsvc0".hex()
DEMO_FROM = "+15005550006"
DEMO_SENDGRID_KEY = "SG.mlc-demo.sendgrid-demo-api-key-000000"  # demo credential


class ApiKeySeed(BaseModel):
    """A Standard API key: SID ``SK...`` and its secret, acting for one account."""

    sid: str = Field(pattern=r"^SK[0-9a-fA-F]{32}$")
    secret: SecretStr


class TwilioAccountSeed(BaseModel):
    """One account: who may call it, what it may send from and how much at once."""

    sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr
    api_keys: list[ApiKeySeed] = Field(default_factory=list)
    numbers: list[str] = Field(default_factory=lambda: [DEMO_FROM, "+46769440000"])
    """Numbers the account owns and may send SMS from."""
    not_sms_capable: list[str] = Field(default_factory=lambda: ["+15005550007"])
    """Numbers the account owns that cannot send SMS: 21606 as From."""
    messaging_services: dict[str, list[str]] = Field(
        default_factory=lambda: {DEMO_MESSAGING_SERVICE_SID: [DEMO_FROM]}
    )
    """Messaging Service SID to its sender pool."""
    concurrency_limit: int = Field(default=100, ge=1)
    """API requests in flight at once before Twilio answers 20429."""
    friendly_name: str = "ml-connector demo"
    status: Literal["active", "suspended", "closed"] = "active"
    """The Account resource's status; only an active account sends."""
    type: Literal["Trial", "Full"] = "Full"


def _demo_accounts() -> list[TwilioAccountSeed]:
    return [
        TwilioAccountSeed(
            sid=DEMO_ACCOUNT_SID,
            auth_token=SecretStr(DEMO_AUTH_TOKEN),
            api_keys=[ApiKeySeed(sid=DEMO_API_KEY_SID, secret=SecretStr(DEMO_API_KEY_SECRET))],
        )
    ]


def _magic_to_errors() -> dict[str, int]:
    # Twilio's test-credential magic To numbers, and one for 21408 outside them.
    return {
        "+15005550001": 21211,
        "+15005550002": 21612,
        "+15005550003": 21408,
        "+15005550004": 21610,
        "+15005550009": 21614,
    }


def _carrier_outcomes() -> dict[str, int]:
    return {"+46700030003": 30003, "+46700030005": 30005, "+46700030006": 30006}


class CallbackDelivery(BaseModel):
    """How status callbacks reach the StatusCallback URL.

    ``duplicate_rate``: the share of callbacks POSTed twice (Twilio's delivery is
    at-least-once). ``reorder_rate``: the share of messages whose ``sent`` callback is held
    back until after the final one (delivered before sent). Both are drawn from the
    sandbox's seeded generator, so a run repeats exactly.
    """

    mode: Literal["once", "at_least_once", "out_of_order"] = "once"
    duplicate_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    reorder_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    timeout_seconds: float = Field(default=15.0, gt=0)
    max_concurrent: int = Field(default=32, ge=1)
    """Callback POSTs open at once (a burst of status changes does not flood the receiver)."""


class TwilioConfig(BaseModel):
    accounts: list[TwilioAccountSeed] = Field(default_factory=_demo_accounts)
    to_errors: dict[str, int] = Field(default_factory=_magic_to_errors)
    """To numbers refused at create time, with the error code (21211, 21610, 21408...)."""
    carrier_outcomes: dict[str, int] = Field(default_factory=_carrier_outcomes)
    """To numbers accepted but ending undelivered/failed with this carrier error code."""
    failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of other messages ending undelivered or failed (30003/30005/30006)."""
    enabled_regions: list[str] = Field(default_factory=lambda: ["+1", "+4"])
    """Destination prefixes the accounts' geo permissions allow; others get 21408."""
    sent_after_seconds: float = Field(default=1.0, ge=0)
    """Sandbox seconds from queued to sent (or failed)."""
    final_after_seconds: float = Field(default=3.0, ge=0)
    """Sandbox seconds from sent to delivered or undelivered."""
    api_latency_seconds: float = Field(default=0.0, ge=0, le=10)
    """Real seconds each API request holds its account's concurrency slot."""
    callbacks: CallbackDelivery = Field(default_factory=CallbackDelivery)
    max_page_size: int = Field(default=1000, ge=1)
    unsent_match_date_sent: bool = True
    """UNCONFIRMED live behaviour: whether a message not sent yet matches DateSent filters
    (by its creation date). False: only messages with a date_sent match them."""


class SendGridKeySeed(BaseModel):
    key: SecretStr
    scopes: list[str] = Field(default_factory=lambda: ["mail.send"])


class SendGridConfig(BaseModel):
    keys: list[SendGridKeySeed] = Field(
        default_factory=lambda: [SendGridKeySeed(key=SecretStr(DEMO_SENDGRID_KEY))]
    )
    rate_limit: int = Field(default=600, ge=1)
    """mail/send requests per key per window before 429."""
    rate_window_seconds: float = Field(default=60.0, gt=0)
