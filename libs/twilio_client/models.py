"""What the connector reads from Twilio's answers (only the fields it uses), and the
credentials it calls with. Not domain models: the sink keeps its own ledger entries."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr


def _rfc2822(value: object) -> object:
    """Twilio writes dates as RFC 2822 (`Wed, 02 Dec 2026 21:00:00 +0000`)."""
    if isinstance(value, str) and value:
        return parsedate_to_datetime(value)
    return value or None


TwilioDate = Annotated[datetime | None, BeforeValidator(_rfc2822)]


class TwilioCredentials(BaseModel):
    """HTTP Basic for the REST API: the Account SID and its Auth Token, or an API Key SID
    and its secret (Twilio's advice for production). Either way the account SID names
    the account in every URL."""

    model_config = ConfigDict(frozen=True)

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    secret: SecretStr
    """The Auth Token, or the API key's secret when `api_key_sid` is set."""
    api_key_sid: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")

    @property
    def username(self) -> str:
        return self.api_key_sid or self.account_sid


class SentMessage(BaseModel):
    """A Message resource as Twilio answers it (create, fetch and list)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    sid: str
    account_sid: str | None = None
    to: str
    from_: str | None = Field(default=None, alias="from")
    messaging_service_sid: str | None = None
    body: str | None = None
    status: str
    num_segments: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    date_created: TwilioDate = None
    date_sent: TwilioDate = None
    date_updated: TwilioDate = None


class MessagePage(BaseModel):
    """One page of the Messages list; `next_page_uri` is a path on the same host."""

    model_config = ConfigDict(extra="ignore")

    messages: list[SentMessage]
    next_page_uri: str | None = None
