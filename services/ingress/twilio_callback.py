"""A Twilio status callback: its form, its signature and its fields, no I/O.

Twilio POSTs `application/x-www-form-urlencoded` and signs the URL it was given plus every
parameter it sent (sorted by name, name then value) with HMAC-SHA1 under the account's auth
token, base64 in `X-Twilio-Signature`. The check is the official `twilio` package's
`RequestValidator`, over the PUBLIC URL the callback was registered with (a proxy changes
the URL this process sees) and every parameter received, since Twilio adds parameters
without notice. Order of checks: the form (400, or 415 for another content type), the
account it names and the signature (403: unsigned, forged, or signed for another URL),
then the bounded fields the connector reads (400).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
)
from twilio.request_validator import RequestValidator

from events.twilio_status import TwilioMessageStatus
from ingress.errors import RejectedNotificationError
from ingress.fields import OptionalName, first_problem

SIGNATURE_HEADER = "X-Twilio-Signature"
FORM = "application/x-www-form-urlencoded"
# A base64 HMAC-SHA1 is 28 characters; anything much longer is not worth hashing against.
MAX_SIGNATURE_LENGTH = 128
# A status callback carries about a dozen parameters; Twilio may add some, not hundreds.
MAX_FIELDS = 100

ACCOUNT_SID = r"^AC[0-9a-fA-F]{32}$"
MESSAGE_SID = r"^(SM|MM)[0-9a-fA-F]{32}$"
MESSAGING_SERVICE_SID = r"^MG[0-9a-fA-F]{32}$"

Status = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
"""queued, sent, delivered ... and any status Twilio adds later, in its own spelling."""
ErrorText = Annotated[str | None, StringConstraints(max_length=1000)]


def read_form(content_type: str | None, body: bytes) -> dict[str, str]:
    """The parameters, each once; a repeated name is a 400 (Twilio sends each once, and
    which of two values the connector read would be a guess)."""
    if (content_type or "").split(";")[0].strip().lower() != FORM:
        raise RejectedNotificationError(415, f"a status callback is {FORM}")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise RejectedNotificationError(400, "the body is not a URL-encoded form") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise RejectedNotificationError(400, "a parameter appears more than once")
    return form


def account_of(form: dict[str, str]) -> str:
    """The account whose token must have signed the callback; 403 when there is none."""
    account_sid = form.get("AccountSid", "")
    if re.fullmatch(ACCOUNT_SID, account_sid) is None:
        raise RejectedNotificationError(403, "no account to verify the signature with")
    return account_sid


def verify(
    token: SecretStr | None, *, url: str, form: dict[str, str], signature: str | None
) -> None:
    """403 unless `signature` is the account token's signature of `url` and `form`."""
    if not signature:
        raise RejectedNotificationError(403, "unsigned: no X-Twilio-Signature")
    if token is None:
        raise RejectedNotificationError(403, "no auth token for the account")
    if len(signature) > MAX_SIGNATURE_LENGTH:
        raise RejectedNotificationError(403, "bad signature")
    validator = RequestValidator(token.get_secret_value())
    if not validator.validate(url, form, signature):
        raise RejectedNotificationError(403, "bad signature")


def callback_url(public_url: str, query: str) -> str:
    """The URL Twilio signed: the registered public URL, with the query it was given."""
    return f"{public_url}?{query}" if query else public_url


class _Fields(BaseModel):
    """Every field the connector reads, bounded; the rest is signed but not kept."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_sid: str = Field(alias="MessageSid", pattern=MESSAGE_SID)
    account_sid: str = Field(alias="AccountSid", pattern=ACCOUNT_SID)
    status: Status = Field(alias="MessageStatus")
    error_code: int | None = Field(default=None, alias="ErrorCode", ge=0, le=999_999)
    error_message: ErrorText = Field(default=None, alias="ErrorMessage")
    to: OptionalName = Field(default=None, alias="To")
    from_number: OptionalName = Field(default=None, alias="From")
    messaging_service_sid: str | None = Field(
        default=None, alias="MessagingServiceSid", pattern=MESSAGING_SERVICE_SID
    )

    @field_validator("error_code", "error_message", "to", "from_number",
                     "messaging_service_sid", mode="before")  # fmt: skip
    @classmethod
    def _blank_is_absent(cls, value: object) -> object:
        return None if value == "" else value


def parse(form: dict[str, str], *, received_at: datetime | None = None) -> TwilioMessageStatus:
    try:
        fields = _Fields.model_validate(form)
    except ValidationError as exc:
        raise first_problem(exc) from None
    return TwilioMessageStatus(**fields.model_dump(), received_at=received_at or datetime.now(UTC))
