"""A typed async client for Twilio's Programmable Messaging (REST API 2010-04-01).

Three calls: create a Message (form-encoded POST), fetch one by SID, and list those sent
to a number since a time (`To`, `DateSent>`), following `next_page_uri`. Failures become
`twilio_client.errors` from Twilio's error body (`code`, `message`, `more_info`,
`status`). The client makes one request per call: backing off on 20429 is the caller's
(the sink's runner waits per recipient), so a retry never hides from the ledger.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from chassis.http import parse_retry_after
from twilio_client.errors import (
    PERMANENT_CODES,
    TwilioAuthError,
    TwilioError,
    TwilioRequestError,
    TwilioServerError,
    TwilioTooManyRequests,
    TwilioUnavailable,
)
from twilio_client.models import MessagePage, SentMessage, TwilioCredentials

__all__ = [
    "DEFAULT_BASE_URL",
    "LIST_PAGE_SIZE",
    "TwilioMessages",
    "parse_twilio",
    "raise_for_twilio",
    "twilio_request",
]

DEFAULT_BASE_URL = "https://api.twilio.com"
LIST_PAGE_SIZE = 100
MAX_LIST_PAGES = 20
"""A lookup reads at most this many pages (2,000 messages to one number in the window)."""


class TwilioMessages:
    """One Twilio account's Messages resource, over an injected `httpx.AsyncClient`
    (its `base_url` is Twilio's API host, or the sandbox's)."""

    def __init__(self, http: httpx.AsyncClient, *, credentials: TwilioCredentials) -> None:
        self._http = http
        self._credentials = credentials
        self._auth = httpx.BasicAuth(credentials.username, credentials.secret.get_secret_value())
        self._path = f"/2010-04-01/Accounts/{credentials.account_sid}/Messages"

    def use(self, credentials: TwilioCredentials) -> None:
        """Calls with other credentials from now on (a replaced Auth Token or key)."""
        self._credentials = credentials
        self._auth = httpx.BasicAuth(credentials.username, credentials.secret.get_secret_value())

    @property
    def credentials(self) -> TwilioCredentials:
        return self._credentials

    @property
    def account_sid(self) -> str:
        return self._credentials.account_sid

    async def create(
        self,
        *,
        to: str,
        body: str,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
    ) -> SentMessage:
        """Sends one SMS; exactly one of `from_` and `messaging_service_sid` is needed."""
        if (from_ is None) == (messaging_service_sid is None):
            raise ValueError("give exactly one of from_ and messaging_service_sid")
        form = {"To": to, "Body": body}
        if from_ is not None:
            form["From"] = from_
        if messaging_service_sid is not None:
            form["MessagingServiceSid"] = messaging_service_sid
        if status_callback is not None:
            form["StatusCallback"] = status_callback
        answer = await self._request("POST", f"{self._path}.json", data=form)
        return parse_twilio(SentMessage, answer)

    async def fetch(self, sid: str) -> SentMessage:
        answer = await self._request("GET", f"{self._path}/{sid}.json")
        return parse_twilio(SentMessage, answer)

    async def recent(self, count: int = 1) -> list[SentMessage]:
        """The newest `count` messages of the account (one list page): a read that proves
        the SID and secret without sending anything."""
        answer = await self._request("GET", f"{self._path}.json", params={"PageSize": count})
        return parse_twilio(MessagePage, answer).messages

    async def sent_to(self, to: str, *, since: datetime) -> AsyncIterator[SentMessage]:
        """Messages to `to` sent at or after `since` (Twilio's `DateSent>` filter), newest
        first as Twilio lists them, across pages."""
        params: dict[str, str | int] | None = {
            "To": to,
            "DateSent>": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PageSize": LIST_PAGE_SIZE,
        }
        url = f"{self._path}.json"
        for _ in range(MAX_LIST_PAGES):
            answer = await self._request("GET", url, params=params)
            page = parse_twilio(MessagePage, answer)
            for message in page.messages:
                yield message
            if not page.next_page_uri:
                return
            url, params = page.next_page_uri, None

    async def _request(
        self,
        method: str,
        url: str,
        *,
        data: dict[str, str] | None = None,
        params: dict[str, str | int] | None = None,
    ) -> httpx.Response:
        return await twilio_request(
            self._http, method, url, auth=self._auth, data=data, params=params
        )


async def twilio_request(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    auth: httpx.BasicAuth,
    data: dict[str, str] | None = None,
    params: dict[str, str | int] | None = None,
) -> httpx.Response:
    """One REST call; a failed answer or a lost connection becomes its `TwilioError`."""
    try:
        response = await http.request(method, url, data=data, params=params, auth=auth)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        # The connection never opened: Twilio saw nothing.
        raise TwilioUnavailable(f"Twilio unreachable: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        raise TwilioServerError(f"Twilio did not answer: {type(exc).__name__}") from exc
    raise_for_twilio(response)
    return response


def raise_for_twilio(response: httpx.Response) -> None:
    """The typed error for a failed answer (Twilio's error body when it sent one)."""
    if response.is_success:
        return
    body = _error_body(response)
    code = body.get("code") if isinstance(body.get("code"), int) else None
    message = str(body.get("message") or response.reason_phrase or "no message")
    more_info = body.get("more_info") if isinstance(body.get("more_info"), str) else None
    status = response.status_code
    text = f"Twilio answered {status} ({code}): {message}"
    error: TwilioError
    if status == 429 or code == 20429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        error = TwilioTooManyRequests(
            text, code=code or 20429, status=status, more_info=more_info, retry_after=retry_after
        )
    elif status == 503:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        error = TwilioUnavailable(
            text, code=code, status=status, more_info=more_info, retry_after=retry_after
        )
    elif status >= 500:
        error = TwilioServerError(text, code=code, status=status, more_info=more_info)
    elif code in PERMANENT_CODES:
        error = PERMANENT_CODES[code](text, code=code, status=status, more_info=more_info)
    elif status in (401, 403):
        error = TwilioAuthError(text, code=code, status=status, more_info=more_info)
    else:
        error = TwilioRequestError(text, code=code, status=status, more_info=more_info)
    error.detail = message
    raise error


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


_ModelT = TypeVar("_ModelT", bound=BaseModel)


def parse_twilio(model: type[_ModelT], response: httpx.Response) -> _ModelT:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise TwilioServerError(
            f"unreadable Twilio answer ({response.status_code}): {exc.error_count()} errors",
            status=response.status_code,
        ) from exc
