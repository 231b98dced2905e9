"""What a credential check tests: the systems, their API bases and the credentials' names.

The services take these as options and environment variables; an operator who wants one
command to ping every real system lists them once in a YAML file (docs/operations.md shows
its shape, deploy/check.example.yaml is one). Only vault names are written here: the
secrets stay encrypted in the vault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chassis.yaml_source import load_model
from visma_client.config import DEFAULT_SCOPE, DEFAULT_TOKEN_URL

SYSTEMS = ("visma", "slack", "twilio", "sendgrid", "monday", "airbase", "bill")

__all__ = [
    "SYSTEMS",
    "AirbaseCheck",
    "BillCheck",
    "CheckConfig",
    "CheckEntry",
    "MondayCheck",
    "SendGridCheck",
    "SlackCheck",
    "TwilioCheck",
    "VismaCheck",
    "load_check_config",
]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    credential: str = Field(min_length=1)
    """The credential's name in the vault (`mlc secrets set NAME`)."""
    api_base: str = Field(min_length=1)


class SlackCheck(_Entry):
    system: Literal["slack"] = "slack"
    channels: list[str] = Field(default_factory=list)
    """Channels the bot must be a member of to post."""
    scopes: list[str] = Field(default_factory=lambda: ["chat:write"])
    """Scopes the token must have (checked when Slack lists them)."""


class VismaCheck(_Entry):
    """`credential` names the Visma Connect client secret; one token per company tenant."""

    system: Literal["visma"] = "visma"
    client_id: str = Field(min_length=1)
    token_url: str = DEFAULT_TOKEN_URL
    companies: list[str] = Field(min_length=1)
    """The Company tenant ids the client must read (each is its own token)."""
    scopes: list[str] = Field(default_factory=lambda: DEFAULT_SCOPE.split())
    """Asked for, as the services ask; each must be granted."""
    requests_floor: int = Field(default=50, ge=0)
    """Fewer requests left in a company's hour than this is a failure."""


class TwilioCheck(_Entry):
    system: Literal["twilio"] = "twilio"
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    api_key_sid: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")
    from_number: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{1,14}$")
    """The sink's From number: the account must own it, able to send SMS."""
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    """The sink's Messaging Service: it must exist in the account with a sender."""
    messaging_api_base: str = "https://messaging.twilio.com"


class SendGridCheck(_Entry):
    """`credential` names the `SG.` API key the sink sends email with."""

    system: Literal["sendgrid"] = "sendgrid"
    scopes: list[str] = Field(default_factory=lambda: ["mail.send"])


class MondayCheck(_Entry):
    system: Literal["monday"] = "monday"
    boards: list[str] = Field(default_factory=list)
    """Board ids the token must be able to read."""
    complexity_floor: int = Field(default=100_000, ge=0)
    """Fewer complexity points left in the minute than this is a failure."""
    daily_calls_floor: int = Field(default=500, ge=0)
    """Fewer calls left of the account's daily limit than this is a failure."""


class AirbaseCheck(_Entry):
    system: Literal["airbase"] = "airbase"
    resource: str = "vendors"
    """What the one-item read lists."""


class BillCheck(_Entry):
    """`credential` names the user's password; BILL's login also needs the app's devKey."""

    system: Literal["bill"] = "bill"
    username: str = Field(min_length=1)
    organization_id: str = Field(min_length=1)
    dev_key_credential: str = Field(min_length=1)


CheckEntry = (
    VismaCheck | SlackCheck | TwilioCheck | SendGridCheck | MondayCheck | AirbaseCheck | BillCheck
)


class CheckConfig(BaseModel):
    """The whole file: one list per system, each entry one credential."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    visma: list[VismaCheck] = Field(default_factory=list)
    slack: list[SlackCheck] = Field(default_factory=list)
    twilio: list[TwilioCheck] = Field(default_factory=list)
    sendgrid: list[SendGridCheck] = Field(default_factory=list)
    monday: list[MondayCheck] = Field(default_factory=list)
    airbase: list[AirbaseCheck] = Field(default_factory=list)
    bill: list[BillCheck] = Field(default_factory=list)

    def entries(self) -> list[CheckEntry]:
        return [
            *self.visma,
            *self.slack,
            *self.twilio,
            *self.sendgrid,
            *self.monday,
            *self.airbase,
            *self.bill,
        ]


def load_check_config(path: Path) -> CheckConfig:
    """The file validated; a mistake is a `YamlSourceError` naming the file, line and key."""
    return load_model(path, CheckConfig, expected=f"systems to check ({', '.join(SYSTEMS)})")
