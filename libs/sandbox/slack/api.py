"""The public Slack Web API routes, answering as slack.com does.

Methods: chat.postMessage (``thread_ts`` makes a thread reply), conversations.history
(top-level messages only), conversations.replies (a thread: parent first),
users.lookupByEmail (``users_not_found``), auth.test. A revoked token gets
``token_revoked`` from every method.

Bodies may be JSON or form-encoded (form fields ``blocks`` and ``metadata`` hold JSON
text); the token comes from ``Authorization: Bearer`` or a ``token`` field. Checks run in
the order auth, channel, content, rate limit, so an invalid call never spends the
channel's budget, and nothing is stored on an error or a 429.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.slack.state import BOT_ID, BOT_USER_ID, PostedMessage, SlackError, SlackState

MAX_TEXT = 40_000


async def _fields(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise SlackError("invalid_json") from exc
        if not isinstance(parsed, dict):
            raise SlackError("invalid_json")
        return parsed
    fields: dict[str, Any] = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    for name in ("blocks", "metadata"):
        if isinstance(fields.get(name), str):
            try:
                fields[name] = json.loads(fields[name])
            except json.JSONDecodeError as exc:
                raise SlackError(f"invalid_{name}") from exc
    return fields


def _token(request: Request, fields: dict[str, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    body_token = fields.get("token") or request.query_params.get("token")
    return str(body_token) if body_token else None


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


def _failure(state: SlackState, error: str) -> JSONResponse:
    state.stats.errors[error] += 1
    return JSONResponse({"ok": False, "error": error})


def _posted(message: PostedMessage) -> JSONResponse:
    return JSONResponse(
        {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "message": message.as_event(with_metadata=True),
        }
    )


def _post_route(router: APIRouter, state: SlackState) -> None:
    @router.post("/chat.postMessage")
    async def post_message(request: Request) -> JSONResponse:
        try:
            fields = await _fields(request)
            state.check_token(_token(request, fields))
            channel = state.find_channel(str(fields.get("channel") or ""))
            if channel is None:
                raise SlackError("channel_not_found")
            if channel.is_archived:
                raise SlackError("is_archived")
            if not channel.is_member:
                raise SlackError("not_in_channel")
            text, blocks, metadata = _content(fields)
        except SlackError as exc:
            return _failure(state, exc.error)
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


def _read_routes(router: APIRouter, state: SlackState) -> None:
    @router.get("/conversations.history")
    async def history(request: Request) -> JSONResponse:
        query = request.query_params
        try:
            state.check_token(_token(request, {}))
            channel = state.readable_channel(query.get("channel"))
            oldest = float(query.get("oldest") or 0)
            latest = float(query.get("latest") or "inf")
            limit = min(max(int(query.get("limit") or 100), 1), 999)
        except SlackError as exc:
            return _failure(state, exc.error)
        except ValueError:
            return _failure(state, "invalid_arguments")
        with_metadata = query.get("include_all_metadata", "").lower() in {"true", "1"}
        # Thread replies are not part of channel history, as on slack.com.
        found = [
            m
            for m in reversed(state.messages)
            if m.channel == channel.id
            and m.thread_ts in (None, m.ts)
            and oldest < float(m.ts) < latest
        ]
        return JSONResponse(
            {
                "ok": True,
                "messages": [m.as_event(with_metadata=with_metadata) for m in found[:limit]],
                "has_more": len(found) > limit,
                "pin_count": 0,
                "response_metadata": {"next_cursor": ""},
            }
        )

    @router.get("/users.lookupByEmail")
    async def lookup_by_email(request: Request) -> JSONResponse:
        try:
            state.check_token(_token(request, {}))
        except SlackError as exc:
            return _failure(state, exc.error)
        user = state.users.get((request.query_params.get("email") or "").lower())
        if user is None:
            return _failure(state, "users_not_found")
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


def _thread_routes(router: APIRouter, state: SlackState) -> None:
    @router.get("/conversations.replies")
    async def replies(request: Request) -> JSONResponse:
        query = request.query_params
        try:
            state.check_token(_token(request, {}))
            channel = state.readable_channel(query.get("channel"))
            parent = state.find_message(channel.id, query.get("ts") or "")
            if parent is None:
                raise SlackError("thread_not_found")
        except SlackError as exc:
            return _failure(state, exc.error)
        root = parent.thread_ts or parent.ts
        thread = [
            m
            for m in state.messages
            if m.channel == channel.id and (m.ts == root or m.thread_ts == root)
        ]
        return JSONResponse(
            {
                "ok": True,
                "messages": [m.as_event(with_metadata=False) for m in thread],
                "has_more": False,
                "response_metadata": {"next_cursor": ""},
            }
        )

    @router.post("/auth.test")
    async def auth_test(request: Request) -> JSONResponse:
        try:
            state.check_token(_token(request, await _fields(request)))
        except SlackError as exc:
            return _failure(state, exc.error)
        return JSONResponse(
            {
                "ok": True,
                "url": "https://sandbox.slack.com/",
                "team": "ml-connector sandbox",
                "user": "mlc-bot",
                "team_id": state.config.team_id,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        )


def build_api_router(state: SlackState) -> APIRouter:
    router = APIRouter(prefix="/api")
    _post_route(router, state)
    _read_routes(router, state)
    _thread_routes(router, state)
    return router
