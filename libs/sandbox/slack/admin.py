"""The Slack sandbox admin API (``/slack/_sandbox``): workspace set-up and inspection.

Tests and the demo create channels, take the bot out of a channel, archive one, revoke a
token, register users, give a channel a long history of earlier messages
(``POST /channels/{channel}/history``), read what was posted and the per-channel statistics.
``POST /tokens/{token}/revoke|restore`` toggles a bot token (a revoked token gets
``token_revoked`` from every method); ``POST /tokens/{token}/replace`` ({"new_token"}
optional) revokes it and issues a working one, as reinstalling the app does. The routes
that act as a person (reactions, thread replies) and the Events API settings are in
``sandbox.slack.human``.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from sandbox.faults import add_fault_routes
from sandbox.slack.human import add_human_routes
from sandbox.slack.state import Channel, PostedMessage, SlackState, SlackUser


class ChannelCreate(BaseModel):
    name: str
    id: str | None = None
    is_member: bool = True
    is_archived: bool = False


class HistorySeed(BaseModel):
    """Earlier messages from a person, spaced `spacing_seconds` apart and ending
    `ended_seconds_ago` before now on the sandbox clock: a channel with a long past
    without posting it message by message."""

    count: int = Field(ge=1, le=100_000)
    spacing_seconds: float = Field(default=60.0, gt=0)
    ended_seconds_ago: float = Field(default=3600.0, ge=0)
    user: str = "U0MLC00001"


class ChannelChange(BaseModel):
    is_member: bool | None = None
    is_archived: bool | None = None


class TokenCreate(BaseModel):
    token: str


class TokenReplace(BaseModel):
    new_token: str | None = None


class UserCreate(BaseModel):
    email: str
    name: str
    real_name: str = ""


def _channel_view(channel: Channel) -> dict[str, object]:
    return {
        "id": channel.id,
        "name": channel.name,
        "is_member": channel.is_member,
        "is_archived": channel.is_archived,
    }


def _user_view(user: SlackUser) -> dict[str, object]:
    return {"id": user.id, "name": user.name, "email": user.email, "real_name": user.real_name}


def _message_view(state: SlackState, m: PostedMessage) -> dict[str, object]:
    given = state.reactions.get((m.channel, m.ts), [])
    names = list(dict.fromkeys(name for name, _ in given))
    return {
        "channel": m.channel,
        "channel_name": m.channel_name,
        "ts": m.ts,
        "thread_ts": m.thread_ts,
        "user": m.user,
        "from_bot": m.from_bot,
        "text": m.text,
        "blocks": m.blocks,
        "metadata": m.metadata,
        "posted_at": m.posted_at,
        "edited_ts": m.edited_ts,
        "reactions": [{"name": n, "users": [u for name, u in given if name == n]} for n in names],
    }


def _channel_routes(router: APIRouter, state: SlackState) -> None:
    @router.get("/channels")
    async def list_channels() -> list[dict[str, object]]:
        return [_channel_view(c) for c in state.channels.values()]

    @router.post("/channels", status_code=201)
    async def create_channel(body: ChannelCreate) -> dict[str, object]:
        try:
            channel = state.add_channel(body.name, channel_id=body.id, is_member=body.is_member)
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc
        channel.is_archived = body.is_archived
        return _channel_view(channel)

    @router.post("/channels/{channel}/history", status_code=201)
    async def seed_history(channel: str, body: HistorySeed) -> dict[str, object]:
        found = state.find_channel(channel)
        if found is None:
            raise HTTPException(404, f"no channel {channel}")
        newest = state.clock.time() - body.ended_seconds_ago
        first = newest - (body.count - 1) * body.spacing_seconds
        seeded = state.seed_history(
            found, [first + n * body.spacing_seconds for n in range(body.count)], user=body.user
        )
        return {"channel": found.id, "seeded": seeded}

    @router.patch("/channels/{channel}")
    async def change_channel(channel: str, body: ChannelChange) -> dict[str, object]:
        found = state.find_channel(channel)
        if found is None:
            raise HTTPException(404, f"no channel {channel}")
        if body.is_member is not None:
            found.is_member = body.is_member
        if body.is_archived is not None:
            found.is_archived = body.is_archived
        return _channel_view(found)


def _identity_routes(router: APIRouter, state: SlackState) -> None:
    @router.post("/tokens", status_code=201)
    async def add_token(body: TokenCreate) -> dict[str, object]:
        state.tokens[body.token] = False
        return {"token": body.token, "revoked": False}

    # Before the generic route below, which would take 'replace' for an action.
    @router.post("/tokens/{token}/replace")
    async def replace_token(token: str, body: TokenReplace | None = None) -> dict[str, object]:
        if token not in state.tokens:
            raise HTTPException(404, "unknown token")
        new = body.new_token if body is not None else None
        if new is not None and new in state.tokens:
            raise HTTPException(409, "that token exists already")
        return {"token": state.replace_token(token, new), "replaced": token}

    @router.post("/tokens/{token}/{action}")
    async def revoke_or_restore(token: str, action: str) -> dict[str, object]:
        if token not in state.tokens or action not in {"revoke", "restore"}:
            raise HTTPException(404, "unknown token or action")
        state.tokens[token] = action == "revoke"
        return {"token": token, "revoked": state.tokens[token]}

    @router.get("/users")
    async def list_users() -> list[dict[str, object]]:
        return [_user_view(u) for u in state.users.values()]

    @router.post("/users", status_code=201)
    async def add_user(body: UserCreate) -> dict[str, object]:
        return _user_view(state.add_user(body.email, body.name, real_name=body.real_name))


def _inspection_routes(router: APIRouter, state: SlackState) -> None:
    @router.get("/messages")
    async def list_messages(
        channel: str | None = None, from_bot: bool | None = None
    ) -> list[dict[str, object]]:
        found = state.find_channel(channel) if channel else None
        if channel and found is None:
            raise HTTPException(404, f"no channel {channel}")
        return [
            _message_view(state, m)
            for m in state.messages
            if (found is None or m.channel == found.id)
            and (from_bot is None or m.from_bot == from_bot)
        ]

    @router.get("/stats")
    async def stats() -> dict[str, object]:
        return state.stats.as_dict()

    @router.post("/reset")
    async def reset() -> dict[str, object]:
        state.reset()
        return {"ok": True}


def build_admin_router(state: SlackState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")
    _channel_routes(router, state)
    _identity_routes(router, state)
    _inspection_routes(router, state)
    add_human_routes(router, state)
    add_fault_routes(router, state.faults)
    return router
