"""The Web API methods that read: conversations.history, conversations.replies,
conversations.list and users.lookupByEmail, paged as Slack pages them.

Reads take a conversation ID only; a channel name gets ``channel_not_found``, as on
slack.com. History is newest first and leaves thread replies out; replies are the parent,
then the thread oldest first. ``oldest`` and ``latest`` bound both (exclusive unless
``inclusive``), ``limit`` sizes a page, and a page that is not the last says ``has_more``
and gives an opaque ``response_metadata.next_cursor`` for the next call.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sandbox.slack.methods import Method, add_method
from sandbox.slack.state import Channel, PostedMessage, SlackError, SlackState

DEFAULT_LIMIT = 100
MAX_LIMIT = 999


def _channel_by_id(state: SlackState, fields: dict[str, Any]) -> Channel:
    channel = state.channels.get(str(fields.get("channel") or ""))
    if channel is None:
        raise SlackError("channel_not_found")
    if not channel.is_member:
        raise SlackError("not_in_channel")
    return channel


def _ts(fields: dict[str, Any], name: str, default: float) -> float:
    value = fields.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise SlackError(f"invalid_ts_{name}") from exc


def _limit(fields: dict[str, Any]) -> int:
    try:
        limit = int(fields.get("limit") or DEFAULT_LIMIT)
    except (TypeError, ValueError) as exc:
        raise SlackError("invalid_limit") from exc
    return min(max(limit, 1), MAX_LIMIT)


def _flag(fields: dict[str, Any], name: str) -> bool:
    return str(fields.get(name, "")).lower() in {"true", "1"}


def _cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _after_cursor(fields: dict[str, Any], prefix: str) -> str | None:
    """What the cursor points at (a ts or an index); None on a first page."""
    cursor = fields.get("cursor")
    if not cursor:
        return None
    try:
        decoded = base64.urlsafe_b64decode(str(cursor).encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise SlackError("invalid_cursor") from exc
    kind, _, value = decoded.partition(":")
    if kind != prefix or not value:
        raise SlackError("invalid_cursor")
    return value


def _in_range(fields: dict[str, Any]) -> Callable[[PostedMessage], bool]:
    """`oldest` and `latest` as a test of a message (checked once, before any message)."""
    oldest = _ts(fields, "oldest", 0.0)
    latest = _ts(fields, "latest", float("inf"))
    if _flag(fields, "inclusive"):
        return lambda m: oldest <= float(m.ts) <= latest
    return lambda m: oldest < float(m.ts) < latest


def _page(
    messages: Sequence[PostedMessage], fields: dict[str, Any], *, with_metadata: bool
) -> dict[str, Any]:
    limit = _limit(fields)
    page, rest = messages[:limit], messages[limit:]
    return {
        "ok": True,
        "messages": [m.as_event(with_metadata=with_metadata) for m in page],
        "has_more": bool(rest),
        "response_metadata": {"next_cursor": _cursor(f"next_ts:{page[-1].ts}") if rest else ""},
    }


def _history(state: SlackState) -> Method:
    async def history(fields: dict[str, Any]) -> JSONResponse:
        channel = _channel_by_id(state, fields)
        after = _after_cursor(fields, "next_ts")
        in_range = _in_range(fields)
        found = [
            m
            for m in reversed(state.messages)
            if m.channel == channel.id
            and m.thread_ts in (None, m.ts)
            and in_range(m)
            and (after is None or float(m.ts) < float(after))
        ]
        body = _page(found, fields, with_metadata=_flag(fields, "include_all_metadata"))
        body.update(pin_count=0, channel_actions_ts=None, channel_actions_count=0)
        return JSONResponse(body)

    return history


def _replies(state: SlackState) -> Method:
    async def replies(fields: dict[str, Any]) -> JSONResponse:
        channel = _channel_by_id(state, fields)
        if not fields.get("ts"):
            raise SlackError("thread_not_found")
        parent = state.find_message(channel.id, str(fields["ts"]))
        if parent is None:
            raise SlackError("thread_not_found")
        root = parent.thread_ts or parent.ts
        after = _after_cursor(fields, "next_ts")
        in_range = _in_range(fields)
        thread = [
            m
            for m in state.messages
            if m.channel == channel.id
            and m.thread_ts == root
            and m.ts != root
            and in_range(m)
            and (after is None or float(m.ts) > float(after))
        ]
        head = state.find_message(channel.id, root)
        if after is None and head is not None:
            thread.insert(0, head)  # the parent opens the first page, as on slack.com
        return JSONResponse(
            _page(thread, fields, with_metadata=_flag(fields, "include_all_metadata"))
        )

    return replies


def _channels(state: SlackState) -> Method:
    async def conversations_list(fields: dict[str, Any]) -> JSONResponse:
        after = _after_cursor(fields, "next_index")
        start = int(after) if after is not None and after.isdigit() else 0
        channels = [
            c
            for c in state.channels.values()
            if not (_flag(fields, "exclude_archived") and c.is_archived)
        ]
        limit = _limit(fields)
        page = channels[start : start + limit]
        more = start + limit < len(channels)
        return JSONResponse(
            {
                "ok": True,
                "channels": [_channel_view(c) for c in page],
                "response_metadata": {
                    "next_cursor": _cursor(f"next_index:{start + limit}") if more else ""
                },
            }
        )

    return conversations_list


def _channel_view(channel: Channel) -> dict[str, object]:
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": True,
        "is_private": False,
        "is_archived": channel.is_archived,
        "is_member": channel.is_member,
    }


def _lookup(state: SlackState) -> Method:
    async def lookup_by_email(fields: dict[str, Any]) -> JSONResponse:
        user = state.users.get(str(fields.get("email") or "").lower())
        if user is None:
            raise SlackError("users_not_found")
        return JSONResponse(
            {
                "ok": True,
                "user": {
                    "id": user.id,
                    "team_id": state.config.team_id,
                    "name": user.name,
                    "deleted": False,
                    "is_bot": False,
                    "real_name": user.real_name,
                    "profile": {"email": user.email, "real_name": user.real_name},
                },
            }
        )

    return lookup_by_email


def add_read_methods(router: APIRouter, state: SlackState) -> None:
    add_method(router, state, "conversations.history", _history(state))
    add_method(router, state, "conversations.replies", _replies(state))
    add_method(router, state, "conversations.list", _channels(state))
    add_method(router, state, "users.lookupByEmail", _lookup(state))
