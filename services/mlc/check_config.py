"""What `mlc check` tests: the systems, their API bases and the credentials' vault names.

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

__all__ = [
    "AirbaseCheck",
    "BillCheck",
    "CheckConfig",
    "CheckEntry",
    "MondayCheck",
    "SlackCheck",
    "TwilioCheck",
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


class TwilioCheck(_Entry):
    system: Literal["twilio"] = "twilio"
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    api_key_sid: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")


class MondayCheck(_Entry):
    system: Literal["monday"] = "monday"
    boards: list[str] = Field(default_factory=list)
    """Board ids the token must be able to read."""
    complexity_floor: int = Field(default=100_000, ge=0)
    """Fewer complexity points left in the minute than this is a failure."""


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


CheckEntry = SlackCheck | TwilioCheck | MondayCheck | AirbaseCheck | BillCheck


class CheckConfig(BaseModel):
    """The whole file: one list per system, each entry one credential."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slack: list[SlackCheck] = Field(default_factory=list)
    twilio: list[TwilioCheck] = Field(default_factory=list)
    monday: list[MondayCheck] = Field(default_factory=list)
    airbase: list[AirbaseCheck] = Field(default_factory=list)
    bill: list[BillCheck] = Field(default_factory=list)

    def entries(self) -> list[CheckEntry]:
        return [*self.slack, *self.twilio, *self.monday, *self.airbase, *self.bill]


def load_check_config(path: Path) -> CheckConfig:
    """The file validated; a mistake is a `YamlSourceError` naming the file, line and key."""
    return load_model(
        path, CheckConfig, expected="systems to check (slack, twilio, monday, airbase, bill)"
    )
