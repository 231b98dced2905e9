"""Admin routes that act as a person in the workspace, and the Events API settings.

``POST /_sandbox/reactions`` ({user, channel, ts, reaction}) adds a reaction to a stored
message and delivers ``reaction_added``; ``POST /_sandbox/replies`` ({user, channel,
thread_ts, text}) stores a thread reply and delivers it as a ``message`` event with
``thread_ts``. ``user`` is a user id or email, ``channel`` an id or name. With
``"wait": true`` the answer comes once delivery has ended and carries its outcome.

``GET|PUT /_sandbox/events`` read and change the workspace's events URL, signing secret,
retry delays, ack timeout and duplicate rate (the secret is never shown);
``GET /_sandbox/events/stats`` counts deliveries (delivered, retried, failed, no_retry,
duplicated...); ``GET /_sandbox/events/deliveries`` lists every attempt with its retry
number and reason; ``POST /_sandbox/events/drain`` waits for deliveries under way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, SecretStr

from sandbox.slack.state import Channel, PostedMessage, SlackState, SlackUser


class ReactionAdd(BaseModel):
    user: str
    channel: str
    ts: str
    reaction: str = Field(min_length=1)
    wait: bool = False


class ReplyPost(BaseModel):
    user: str
    channel: str
    thread_ts: str
    text: str = Field(min_length=1)
    wait: bool = False


class EventsChange(BaseModel):
    team_id: str | None = None
    url: str | None = None
    signing_secret: SecretStr | None = None
    ack_timeout_seconds: float | None = Field(default=None, gt=0)
    retry_delays_seconds: list[Annotated[float, Field(ge=0)]] | None = Field(
        default=None, max_length=10
    )
    duplicate_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    deliver_bot_messages: bool | None = None


def _user(state: SlackState, value: str) -> SlackUser:
    user = state.find_user(value)
    if user is None:
        raise HTTPException(404, f"no user {value}")
    return user


def _message(state: SlackState, channel_value: str, ts: str) -> tuple[Channel, PostedMessage]:
    channel = state.find_channel(channel_value)
    if channel is None:
        raise HTTPException(404, f"no channel {channel_value}")
    message = state.find_message(channel.id, ts)
    if message is None:
        raise HTTPException(404, f"no message {ts} in {channel.name}")
    return channel, message


def reaction_event(
    user: SlackUser, reaction: str, message: PostedMessage, event_ts: str
) -> dict[str, object]:
    return {
        "type": "reaction_added",
        "user": user.id,
        "reaction": reaction,
        "item_user": message.user,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "event_ts": event_ts,
    }


def reply_event(team_id: str, reply: PostedMessage, parent: PostedMessage) -> dict[str, object]:
    return {
        **reply.as_event(with_metadata=False),
        "team": team_id,
        "channel": reply.channel,
        "event_ts": reply.ts,
        "channel_type": "channel",
        "parent_user_id": parent.user,
    }


async def _publish(state: SlackState, event: dict[str, object], wait: bool) -> dict[str, object]:
    envelope = state.events.publish(event)
    answer: dict[str, object] = {"ok": True, "event_id": envelope["event_id"], "event": event}
    if wait:
        outcome = await state.events.wait(str(envelope["event_id"]))
        answer["delivery"] = outcome.as_dict() if outcome is not None else None
    return answer


def _human_routes(router: APIRouter, state: SlackState) -> None:
    @router.post("/reactions", status_code=201)
    async def add_reaction(body: ReactionAdd) -> dict[str, object]:
        user = _user(state, body.user)
        channel, message = _message(state, body.channel, body.ts)
        name = body.reaction.strip(":")
        given = state.reactions.setdefault((channel.id, message.ts), [])
        if (name, user.id) in given:
            raise HTTPException(409, "already_reacted")
        given.append((name, user.id))
        return await _publish(
            state, reaction_event(user, name, message, state.next_ts()), body.wait
        )

    @router.post("/replies", status_code=201)
    async def post_reply(body: ReplyPost) -> dict[str, object]:
        user = _user(state, body.user)
        channel, parent = _message(state, body.channel, body.thread_ts)
        root = parent.thread_ts or parent.ts  # a reply to a reply joins the same thread
        reply = state.store(
            channel, text=body.text, blocks=None, metadata=None, thread_ts=root, user=user.id
        )
        event = reply_event(state.config.team_id, reply, parent)
        answer = await _publish(state, event, body.wait)
        return {**answer, "ts": reply.ts, "channel": channel.id}


def _events_view(state: SlackState) -> dict[str, object]:
    config = state.events.config
    return {
        "team_id": state.config.team_id,
        **config.model_dump(exclude={"signing_secret"}),
        "signing_secret_set": bool(config.signing_secret.get_secret_value()),
    }


def _events_routes(router: APIRouter, state: SlackState) -> None:
    @router.get("/events")
    async def read_events_config() -> dict[str, object]:
        return _events_view(state)

    @router.put("/events")
    async def change_events_config(body: EventsChange) -> dict[str, object]:
        if body.team_id is not None and body.team_id != state.config.team_id:
            raise HTTPException(404, f"no workspace {body.team_id}")
        changes = body.model_dump(exclude_unset=True, exclude={"team_id"})
        if body.signing_secret is not None:
            changes["signing_secret"] = body.signing_secret
        state.events.config = state.events.config.model_copy(update=changes)
        return _events_view(state)

    @router.get("/events/stats")
    async def events_stats() -> dict[str, object]:
        return state.events.stats.as_dict()

    @router.get("/events/deliveries")
    async def deliveries(event_id: str | None = None) -> list[dict[str, object]]:
        return [a.as_dict() for a in state.events.log if event_id in (None, a.event_id)]

    @router.post("/events/drain")
    async def drain() -> dict[str, object]:
        await state.events.drain()
        return state.events.stats.as_dict()


def add_human_routes(router: APIRouter, state: SlackState) -> None:
    _human_routes(router, state)
    _events_routes(router, state)
