"""Email through one small interface, so the provider is a matter of configuration.

`EmailSender.send` takes an `OutgoingEmail` and returns the provider's id for it. The one
implementation today is Twilio SendGrid's v3 `POST /v3/mail/send` (its own `SG.` API key as
a Bearer token; 202 with the id in `X-Message-Id`). The newer Twilio Email API
(`comms.twilio.com/v1/Emails`, Basic auth, 202 with an operation id) can be added as a
second `EmailSender` without touching the sink.

SendGrid offers no search by content, so a sender cannot find out whether an interrupted
send went out: callers keep a ledger and accept at most one repeat per interruption.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from chassis.http import parse_retry_after
from twilio_client.errors import (
    TwilioAuthError,
    TwilioError,
    TwilioRequestError,
    TwilioServerError,
    TwilioTooManyRequests,
    TwilioUnavailable,
)

__all__ = [
    "SENDGRID_BASE_URL",
    "EmailReceipt",
    "EmailSender",
    "OutgoingEmail",
    "SendGridSender",
    "sendgrid_scopes",
]

SENDGRID_BASE_URL = "https://api.sendgrid.com"


class OutgoingEmail(BaseModel):
    model_config = ConfigDict(frozen=True)

    to: list[str]
    subject: str
    text: str
    html: str | None = None
    reference: str | None = None
    """Our id for the email (a command id), carried to the provider where it can keep it."""


class EmailReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    message_id: str | None
    """The provider's id (SendGrid's X-Message-Id); None if it gave none."""


class EmailSender(Protocol):
    """Sends one email; raises `TwilioError` subclasses that say whether to retry."""

    provider: str

    async def send(self, email: OutgoingEmail) -> EmailReceipt: ...


class SendGridSender:
    """SendGrid v3 Mail Send, over an injected client whose base URL is SendGrid's host."""

    provider = "sendgrid"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: SecretStr,
        from_email: str,
        from_name: str | None = None,
    ) -> None:
        self._http = http
        self._api_key = api_key
        self._from: dict[str, str] = {"email": from_email}
        if from_name:
            self._from["name"] = from_name

    def use(self, api_key: SecretStr) -> None:
        """Calls with another API key from now on (a replaced one)."""
        self._api_key = api_key

    async def send(self, email: OutgoingEmail) -> EmailReceipt:
        # SendGrid wants text/plain before text/html.
        content = [{"type": "text/plain", "value": email.text}]
        if email.html is not None:
            content.append({"type": "text/html", "value": email.html})
        personalization: dict[str, Any] = {"to": [{"email": address} for address in email.to]}
        payload: dict[str, Any] = {
            "personalizations": [personalization],
            "from": self._from,
            "subject": email.subject,
            "content": content,
        }
        if email.reference is not None:
            payload["custom_args"] = {"mlc_command_id": email.reference}
        response = await _call(
            self._http, "POST", "/v3/mail/send", api_key=self._api_key, payload=payload
        )
        return EmailReceipt(provider=self.provider, message_id=response.headers.get("X-Message-Id"))


async def sendgrid_scopes(http: httpx.AsyncClient, *, api_key: SecretStr) -> list[str]:
    """The scopes of `api_key` (`GET /v3/scopes` answers `{"scopes": [...]}`)."""
    response = await _call(http, "GET", "/v3/scopes", api_key=api_key)
    try:
        scopes = response.json().get("scopes")
    except (ValueError, AttributeError):
        scopes = None
    if not isinstance(scopes, list):
        raise TwilioServerError("SendGrid's scopes answer has no scopes list", status=200)
    return [str(scope) for scope in scopes]


async def _call(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    api_key: SecretStr,
    payload: dict[str, Any] | None = None,
) -> httpx.Response:
    """One SendGrid call with the key as Bearer; a failure becomes its `TwilioError`."""
    headers = {"Authorization": f"Bearer {api_key.get_secret_value()}"}
    try:
        response = await http.request(method, path, json=payload, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise TwilioUnavailable(f"SendGrid unreachable: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        raise TwilioServerError(f"SendGrid did not answer: {type(exc).__name__}") from exc
    if not response.is_success:
        raise _sendgrid_error(response)
    return response


def _sendgrid_error(response: httpx.Response) -> TwilioError:
    """SendGrid's errors: `{"errors": [{"message", "field", "help"}]}`, no numeric code."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    errors = body.get("errors") if isinstance(body, dict) else None
    messages = [
        str(e.get("message")) for e in errors or [] if isinstance(e, dict) and e.get("message")
    ]
    detail = "; ".join(messages) or response.reason_phrase or "no message"
    text = f"SendGrid answered {status}: {detail}"
    error: TwilioError
    if status == 429:
        error = TwilioTooManyRequests(
            text, code=None, status=status, retry_after=_reset_after(response)
        )
    elif status == 503:
        error = TwilioUnavailable(text, status=status, retry_after=_reset_after(response))
    elif status >= 500:
        error = TwilioServerError(text, status=status)
    elif status in (401, 403):
        error = TwilioAuthError(text, status=status)
    else:
        error = TwilioRequestError(text, status=status)
    error.detail = detail
    return error


def _reset_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"))
