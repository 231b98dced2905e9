"""A typed async client for the few Slack Web API methods the connector uses.

Slack reports most failures as HTTP 200 with `{"ok": false, "error": ...}`; this module
turns them, and HTTP-level failures, into `SlackError` subclasses that say whether a
retry can help. Pacing is the caller's job: the sink builds its `httpx.AsyncClient`
without 429 retries so it sees `SlackRateLimited` and can reschedule itself.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

from chassis.http import parse_retry_after
from slack_client.errors import (
    SlackChannelError,
    SlackCredentialError,
    SlackError,
    SlackRateLimited,
    SlackRequestError,
    SlackServerError,
    SlackUnavailable,
)
from slack_client.models import (
    AuthIdentity,
    ChannelPage,
    ChannelSummary,
    HistoryPage,
    MessageMetadata,
    PostedMessage,
    SlackUser,
    StoredMessage,
)

__all__ = ["DEFAULT_BASE_URL", "SlackClient"]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://slack.com/api"

_CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
_CREDENTIAL_ERRORS = frozenset(
    {
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "not_authed",
        "token_expired",
        "missing_scope",
    }
)
_RATE_ERRORS = frozenset({"ratelimited", "rate_limited"})
_UNAVAILABLE_ERRORS = frozenset({"service_unavailable"})
_SERVER_ERRORS = frozenset({"internal_error", "fatal_error", "request_timeout"})
_ModelT = TypeVar("_ModelT", PostedMessage, SlackUser, HistoryPage, ChannelPage)
HISTORY_PAGE = 200
CHANNEL_LIST_PAGE = 200

_USER_NOT_FOUND = frozenset({"users_not_found", "user_not_found"})


def classify(method: str, error: str) -> SlackError:
    """The typed exception for an `ok: false` answer from `method`."""
    message = f"Slack {method} failed: {error}"
    if error in _RATE_ERRORS:
        return SlackRateLimited(message, error=error)
    if error in _CHANNEL_ERRORS:
        return SlackChannelError(message, error=error)
    if error in _CREDENTIAL_ERRORS:
        return SlackCredentialError(message, error=error)
    if error in _UNAVAILABLE_ERRORS:
        return SlackUnavailable(message, error=error)
    if error in _SERVER_ERRORS:
        return SlackServerError(message, error=error)
    return SlackRequestError(message, error=error)


class SlackClient:
    """Slack Web API calls over an injected `httpx.AsyncClient` based at `.../api`."""

    def __init__(self, http: httpx.AsyncClient, *, token: SecretStr) -> None:
        self._http = http
        self._token = token

    def __repr__(self) -> str:
        return f"SlackClient(base_url={str(self._http.base_url)!r})"

    async def post_message(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        metadata: MessageMetadata | None = None,
        thread_ts: str | None = None,
    ) -> PostedMessage:
        """chat.postMessage; `text` is the notification fallback when `blocks` are given."""
        body: dict[str, Any] = {"channel": channel, "text": text}
        if blocks is not None:
            body["blocks"] = blocks
        if metadata is not None:
            body["metadata"] = metadata.model_dump(mode="json")
        if thread_ts is not None:
            body["thread_ts"] = thread_ts
        data = await self._call("POST", "chat.postMessage", json=body)
        return _parse(PostedMessage, data, "chat.postMessage")

    async def update_message(
        self,
        *,
        channel_id: str,
        ts: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        metadata: MessageMetadata | None = None,
    ) -> PostedMessage:
        """chat.update: the bot's message at (channel ID, ts) changed in place.

        Setting the same content twice leaves the same message, so repeating an update
        after an unknown outcome is safe.
        """
        body: dict[str, Any] = {"channel": channel_id, "ts": ts, "text": text}
        # An empty list clears blocks a message had, so the text shows.
        body["blocks"] = blocks if blocks is not None else []
        if metadata is not None:
            body["metadata"] = metadata.model_dump(mode="json")
        data = await self._call("POST", "chat.update", json=body)
        return _parse(PostedMessage, data, "chat.update")

    async def read_message(self, *, channel_id: str, ts: str) -> StoredMessage | None:
        """The top-level message at (channel ID, ts) as Slack stores it now, or None.

        conversations.history with `latest` = `oldest` = ts, `inclusive` and `limit` 1: the
        one message at that ts.
        """
        params = {
            "channel": channel_id,
            "latest": ts,
            "oldest": ts,
            "inclusive": "true",
            "limit": "1",
            "include_all_metadata": "true",
        }
        data = await self._call("GET", "conversations.history", params=params)
        page = _parse(HistoryPage, data, "conversations.history")
        return next((m for m in page.messages if m.ts == ts), None)

    async def find_message_by_metadata(
        self,
        *,
        channel_id: str,
        event_type: str,
        key: str,
        value: str,
        oldest: str | None = None,
        thread_ts: str | None = None,
        max_pages: int = 20,
    ) -> PostedMessage | None:
        """The newest message in the channel whose metadata has `event_payload[key] == value`.

        The sink asks this when it cannot tell whether an earlier post went through
        (a timeout after sending), so it never posts the same thing twice.
        """
        found = await self.find_messages_by_metadata(
            channel_id=channel_id,
            event_type=event_type,
            keys=(key,),
            values={value},
            oldest=oldest,
            thread_ts=thread_ts,
            max_pages=max_pages,
        )
        return found.get(value)

    async def find_messages_by_metadata(
        self,
        *,
        channel_id: str,
        event_type: str,
        keys: tuple[str, ...],
        values: Collection[str],
        oldest: str | None = None,
        thread_ts: str | None = None,
        max_pages: int = 20,
    ) -> dict[str, PostedMessage]:
        """For each of `values`, the newest message in the channel that carries it in its metadata.

        Slack reads history by conversation ID only (a name gets `channel_not_found`).
        Top-level messages come from conversations.history; replies in the thread of
        `thread_ts` from conversations.replies, because history leaves thread replies out.
        `oldest` (a Slack ts) bounds the search to messages after it, so a lookup for a
        recent post reads one page however long the channel is.

        A message carries a value when `event_payload[k]` equals it, or is a list holding it,
        for one of `keys`: a digest message lists all the command ids it stands for.
        """
        wanted = set(values)
        found: dict[str, PostedMessage] = {}
        method = "conversations.history" if thread_ts is None else "conversations.replies"
        params: dict[str, str] = {
            "channel": channel_id,
            "include_all_metadata": "true",
            "limit": str(HISTORY_PAGE),
        }
        if thread_ts is not None:
            params["ts"] = thread_ts
        if oldest is not None:
            params["oldest"] = oldest
        for _ in range(max_pages):
            data = await self._call("GET", method, params=params)
            page = _parse(HistoryPage, data, method)
            for message in page.messages:
                for carried in _carried(message.metadata, event_type, keys) & wanted:
                    found[carried] = PostedMessage(channel=channel_id, ts=message.ts)
                wanted -= found.keys()
            cursor = page.next_cursor
            if not wanted or cursor is None:
                return found
            params["cursor"] = cursor
        logger.warning(
            "metadata search stopped at the page limit",
            extra={"channel": channel_id, "max_pages": max_pages},
        )
        return found

    async def auth_test(self) -> AuthIdentity:
        """auth.test: the token's team and bot user, and its scopes (X-OAuth-Scopes); it
        changes nothing in the workspace."""
        data, response = await self._exchange("POST", "auth.test")
        scopes = response.headers.get("x-oauth-scopes")
        identity = AuthIdentity.model_validate(data)
        if scopes is None:
            return identity
        granted = tuple(s.strip() for s in scopes.split(",") if s.strip())
        return identity.model_copy(update={"scopes": granted})

    async def channel_id(self, name: str) -> str | None:
        """The ID of the channel called `name` (with or without '#'), from conversations.list.

        None when no channel the bot can see has that name. Only for a destination whose ID
        the caller has not learned yet from a post: it pages through every channel.
        """
        found = await self.channel(name)
        return found.id if found else None

    async def channel(self, name: str) -> ChannelSummary | None:
        """The channel called `name` (with or without '#') as conversations.list shows it,
        with whether the bot is a member; None when the bot sees no channel by that name."""
        wanted = name.lstrip("#")
        params: dict[str, str] = {
            "types": "public_channel,private_channel",
            "limit": str(CHANNEL_LIST_PAGE),
        }
        while True:
            data = await self._call("GET", "conversations.list", params=params)
            page = _parse(ChannelPage, data, "conversations.list")
            for channel in page.channels:
                if channel.name == wanted:
                    return channel
            cursor = page.next_cursor
            if cursor is None:
                return None
            params["cursor"] = cursor

    async def lookup_user_by_email(self, email: str) -> SlackUser | None:
        """users.lookupByEmail; None when no user has that address."""
        try:
            data = await self._call("GET", "users.lookupByEmail", params={"email": email})
        except SlackRequestError as exc:
            if exc.error in _USER_NOT_FOUND:
                return None
            raise
        return _parse(SlackUser, data.get("user"), "users.lookupByEmail")

    async def _call(
        self,
        http_method: str,
        method: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        data, _ = await self._exchange(http_method, method, json=json, params=params)
        return data

    async def _exchange(
        self,
        http_method: str,
        method: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], httpx.Response]:
        """One call: its ok body and the response (for headers), or the `SlackError`."""
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        try:
            response = await self._http.request(
                http_method, f"/{method}", json=json, params=params, headers=headers
            )
        except httpx.TransportError as exc:
            raise SlackUnavailable(
                f"Slack {method} unreachable: {type(exc).__name__}", error="transport_error"
            ) from exc
        _raise_for_http_status(method, response)
        try:
            data = response.json()
        except ValueError as exc:
            raise SlackServerError(
                f"Slack {method} sent a non-JSON reply", error="invalid_response"
            ) from exc
        if not isinstance(data, dict):
            raise SlackServerError(
                f"Slack {method} sent a non-object reply", error="invalid_response"
            )
        if data.get("ok") is not True:
            error = classify(method, str(data.get("error") or "unknown_error"))
            if isinstance(error, SlackRateLimited):
                error.retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise error
        return data, response


def _carried(metadata: MessageMetadata | None, event_type: str, keys: tuple[str, ...]) -> set[str]:
    if metadata is None or metadata.event_type != event_type:
        return set()
    carried: set[str] = set()
    for key in keys:
        found = metadata.event_payload.get(key)
        if isinstance(found, list):
            carried.update(str(item) for item in found)
        elif found is not None:
            carried.add(str(found))
    return carried


def _raise_for_http_status(method: str, response: httpx.Response) -> None:
    status = response.status_code
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise SlackRateLimited(
            f"Slack {method} rate limited (retry after {retry_after}s)", retry_after=retry_after
        )
    if status == 503:
        raise SlackUnavailable(
            f"Slack {method} answered HTTP 503",
            error="http_503",
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    if status >= 500:
        raise SlackServerError(f"Slack {method} answered HTTP {status}", error=f"http_{status}")
    if status >= 400:
        # Slack normally says ok:false with 200; a bare 4xx usually means a wrong URL.
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error"):
            raise classify(method, str(body["error"]))
        raise SlackRequestError(f"Slack {method} answered HTTP {status}", error=f"http_{status}")


def _parse(model: type[_ModelT], data: Any, method: str) -> _ModelT:
    # ok:true with a shape we cannot read is a contract break, not a transient fault:
    # retrying a post here would duplicate the message.
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SlackRequestError(
            f"Slack {method} reply has an unexpected shape: {exc.error_count()} errors",
            error="invalid_response",
        ) from exc
