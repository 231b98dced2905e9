"""The public Slack Web API routes, answering as slack.com does.

Methods: chat.postMessage (``thread_ts`` makes a thread reply), chat.update (the bot's own
message, by channel ID and ts: ``message_not_found``, ``cant_update_message``; Tier 3, so
not under the per-channel posting limit), auth.test, and the reads in
``sandbox.slack.reads``. A revoked token gets ``token_revoked`` from every method.

Every method answers GET and POST, as Slack does; arguments may come in the query string, a
form body or a JSON body (form fields ``blocks`` and ``metadata`` hold JSON text); the token
comes from ``Authorization: Bearer`` or a ``token`` argument. A method Slack does not have
gets ``unknown_method``; every failure is Slack's ``{"ok": false, "error": ...}``, never a
framework's ``{"detail": ...}``. Checks run in the order auth, channel, content, rate limit,
so an invalid call never spends the channel's budget, and nothing is stored on an error or
a 429.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sandbox.slack.methods import VERBS, add_method
from sandbox.slack.reads import add_read_methods
from sandbox.slack.state import BOT_ID, BOT_USER_ID, PostedMessage, SlackError, SlackState

MAX_TEXT = 40_000


def _content(
    fields: dict[str, Any],
) -> tuple[str, list[object] | None, dict[str, object] | None]:
    text = fields.get("text") or ""
    blocks = fields.get("blocks")
    metadata = fields.get("metadata")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackError("invalid_blocks")
    if metadata is not None and not (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_format")
    if not text and not blocks:
        raise SlackError("no_text")
    if len(str(text)) > MAX_TEXT:
        raise SlackError("msg_too_long")
    return str(text), blocks, metadata


def _thread_root(state: SlackState, channel_id: str, thread_ts: object) -> str | None:
    """A reply to a reply lands in the parent's thread, as in Slack's clients."""
    if not thread_ts:
        return None
    parent = state.find_message(channel_id, str(thread_ts))
    return (parent.thread_ts or parent.ts) if parent is not None else str(thread_ts)


def _posted(message: PostedMessage) -> JSONResponse:
    return JSONResponse(
        {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "message": message.as_event(with_metadata=True),
        }
    )


def _post_method(router: APIRouter, state: SlackState) -> None:
    async def post_message(fields: dict[str, Any]) -> JSONResponse:
        # chat.postMessage, unlike the reads, takes a channel name as well as an ID.
        channel = state.find_channel(str(fields.get("channel") or ""))
        if channel is None:
            raise SlackError("channel_not_found")
        if channel.is_archived:
            raise SlackError("is_archived")
        if not channel.is_member:
            raise SlackError("not_in_channel")
        text, blocks, metadata = _content(fields)
        wait = state.bucket.take(channel.id, state.clock.time())
        if wait:
            state.stats.rate_limited[channel.name] += 1
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
        message = state.store(
            channel,
            text=text,
            blocks=blocks,
            metadata=metadata,
            thread_ts=_thread_root(state, channel.id, fields.get("thread_ts")),
        )
        if state.events.config.deliver_bot_messages:
            state.events.publish(
                {
                    **message.as_event(with_metadata=False),
                    "channel": channel.id,
                    "event_ts": message.ts,
                    "channel_type": "channel",
                }
            )
        return _posted(message)

    add_method(router, state, "chat.postMessage", post_message)


def _update_method(router: APIRouter, state: SlackState) -> None:
    async def update(fields: dict[str, Any]) -> JSONResponse:
        channel = state.channels.get(str(fields.get("channel") or ""))  # an ID, never a name
        if channel is None:
            raise SlackError("channel_not_found")
        old = state.find_message(channel.id, str(fields.get("ts") or ""))
        if old is None:
            raise SlackError("message_not_found")
        if not old.from_bot:
            raise SlackError("cant_update_message")
        text, blocks, metadata = _content(fields)
        new = replace(
            old,
            text=text,
            blocks=blocks,
            metadata=metadata if metadata is not None else old.metadata,
            edited_ts=state.next_ts(),
        )
        state.replace_message(old, new)
        return JSONResponse(
            {
                "ok": True,
                "channel": channel.id,
                "ts": new.ts,
                "text": new.text,
                "message": new.as_event(with_metadata=True),
            }
        )

    add_method(router, state, "chat.update", update)


def _auth_method(router: APIRouter, state: SlackState) -> None:
    async def auth_test(fields: dict[str, Any]) -> JSONResponse:
        return JSONResponse(
            {
                "ok": True,
                "url": "https://sandbox.slack.com/",
                "team": "ml-connector sandbox",
                "user": "mlc-bot",
                "team_id": state.config.team_id,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        )

    add_method(router, state, "auth.test", auth_test)


def _unknown_method(router: APIRouter, state: SlackState) -> None:
    @router.api_route("/{method}", methods=[*VERBS, "PUT", "PATCH", "DELETE"])
    async def unknown(method: str) -> JSONResponse:
        state.stats.errors["unknown_method"] += 1
        return JSONResponse(
            {"ok": False, "error": "unknown_method", "req_method": method}, status_code=404
        )


def build_api_router(state: SlackState) -> APIRouter:
    router = APIRouter(prefix="/api")
    _post_method(router, state)
    _update_method(router, state)
    _auth_method(router, state)
    add_read_methods(router, state)
    _unknown_method(router, state)  # last: it matches any name
    return router
