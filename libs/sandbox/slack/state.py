"""All per-run state of the Slack simulator: workspace, tokens, messages, limits.

Slack answers most failures with HTTP 200 and ``{"ok": false, "error": ...}``; a
:class:`SlackError` carries that code. Rate limiting is a token bucket per channel on the
sandbox clock (default 1 message per second, burst 1), like Slack's "special" tier for
chat.postMessage; the workspace-wide limit is not simulated.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from sandbox.clock import SandboxClock
from sandbox.config import SlackConfig
from sandbox.faults import FaultInjector
from sandbox.slack.events import EventDelivery

BOT_USER_ID = "U0MLCBOT01"
BOT_ID = "B0MLCBOT01"


class SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class Channel:
    id: str
    name: str
    is_member: bool = True
    is_archived: bool = False


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    channel_name: str
    ts: str
    text: str
    blocks: list[object] | None
    metadata: dict[str, object] | None
    thread_ts: str | None
    posted_at: str
    user: str = BOT_USER_ID
    edited_ts: str | None = None
    """When chat.update last changed it (Slack's `edited.ts`)."""

    @property
    def from_bot(self) -> bool:
        return self.user == BOT_USER_ID

    def as_event(self, *, with_metadata: bool) -> dict[str, object]:
        event: dict[str, object] = {"type": "message", "user": self.user}
        if self.from_bot:
            event["bot_id"] = BOT_ID
        event.update(text=self.text, ts=self.ts)
        if self.blocks is not None:
            event["blocks"] = self.blocks
        if self.thread_ts is not None:
            event["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata is not None:
            event["metadata"] = self.metadata
        if self.edited_ts is not None:
            event["edited"] = {"user": self.user, "ts": self.edited_ts}
        return event


class TokenBucket:
    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float) -> int:
        """0 when a token was taken, else the whole seconds to wait (at least 1)."""
        tokens, last = self._state.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
        if tokens >= 1:
            self._state[key] = (tokens - 1, now)
            return 0
        self._state[key] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))

    def reset(self) -> None:
        self._state.clear()


@dataclass
class SlackStats:
    posted: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    """chat.update calls that changed a message, per channel name."""
    calls: Counter[str] = field(default_factory=Counter)
    """Web API calls per method, failed ones included."""

    def as_dict(self) -> dict[str, object]:
        return {
            "calls": dict(self.calls),
            "updated": dict(self.updated),
            "posted": dict(self.posted),
            "rate_limited": dict(self.rate_limited),
            "errors": dict(self.errors),
        }


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    email: str
    real_name: str = ""


class SlackState:
    def __init__(
        self,
        config: SlackConfig,
        clock: SandboxClock,
        *,
        events_client: httpx.AsyncClient | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.clock = clock
        self.faults = FaultInjector(clock=clock)
        self.channels: dict[str, Channel] = {}
        self.tokens: dict[str, bool] = dict.fromkeys(config.bot_tokens, False)  # token→revoked
        self.users: dict[str, SlackUser] = {}
        self.events = EventDelivery(
            config.events.model_copy(),
            team_id=config.team_id,
            bot_user_id=BOT_USER_ID,
            clock=clock,
            client=events_client,
            seed=seed,
        )
        self.reset()
        for name in [*config.channels, *config.extra_channels]:
            self.add_channel(name)
        for user in config.users:
            self.add_user(user.email, user.name)

    def reset(self) -> None:
        """Forget messages, statistics and rate-limit state; the workspace stays."""
        self.messages: list[PostedMessage] = []
        # (channel id, message ts) -> [(reaction, user id)] in the order they were added
        self.reactions: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.stats = SlackStats()
        self.events.reset()
        self.bucket = TokenBucket(rate=self.config.rate_per_second, burst=self.config.burst)
        self._last_ts = 0

    def add_channel(
        self, name: str, *, channel_id: str | None = None, is_member: bool = True
    ) -> Channel:
        name = name.lstrip("#")
        if self.find_channel(name) is not None:
            raise ValueError(f"channel {name} exists")
        channel_id = channel_id or f"C0AP{len(self.channels) + 1:05d}"
        channel = Channel(id=channel_id, name=name, is_member=is_member)
        self.channels[channel_id] = channel
        return channel

    def find_channel(self, value: str) -> Channel | None:
        """Channels are addressed by id or by name, with or without '#'."""
        if value in self.channels:
            return self.channels[value]
        name = value.lstrip("#")
        return next((c for c in self.channels.values() if c.name == name), None)

    def add_user(self, email: str, name: str, *, real_name: str = "") -> SlackUser:
        """A workspace member; an email already known keeps its user (and id)."""
        known = self.users.get(email.lower())
        if known is not None:
            return known
        user = SlackUser(
            id=f"U0MLC{len(self.users) + 1:05d}",
            name=name,
            email=email.lower(),
            real_name=real_name or name,
        )
        self.users[user.email] = user
        return user

    def find_user(self, value: str) -> SlackUser | None:
        """A user by id or by email."""
        by_email = self.users.get(value.lower())
        if by_email is not None:
            return by_email
        return next((u for u in self.users.values() if u.id == value), None)

    def replace_token(self, old: str, new: str | None = None) -> str:
        """Revoke ``old`` and issue ``new`` (or a fresh one), as reinstalling the app does."""
        if old not in self.tokens:
            raise KeyError(old)
        new = new or f"xoxb-sandbox-{secrets.token_hex(12)}"
        self.tokens[old] = True
        self.tokens[new] = False
        return new

    def find_message(self, channel_id: str, ts: str) -> PostedMessage | None:
        return next((m for m in self.messages if m.channel == channel_id and m.ts == ts), None)

    def check_token(self, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        if token not in self.tokens:
            raise SlackError("invalid_auth")
        if self.tokens[token]:
            raise SlackError("token_revoked")

    def next_ts(self) -> str:
        """Unique, increasing ``seconds.micros`` message timestamps from the sandbox clock."""
        micros = max(int(self.clock.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def replace_message(self, old: PostedMessage, new: PostedMessage) -> None:
        """Puts `new` where `old` was (chat.update keeps a message's place and ts)."""
        index = next(i for i, m in enumerate(self.messages) if m is old)
        self.messages[index] = new
        self.stats.updated[new.channel_name] += 1

    def seed_history(self, channel: Channel, times: list[float], *, user: str) -> int:
        """Messages by `user` at the given (past) times, kept in ts order with the rest."""
        seeded = [
            PostedMessage(
                channel=channel.id,
                channel_name=channel.name,
                ts=f"{at:.6f}",
                text=f"earlier message {n + 1}",
                blocks=None,
                metadata=None,
                thread_ts=None,
                posted_at=datetime.fromtimestamp(at, UTC).isoformat(),
                user=user,
            )
            for n, at in enumerate(sorted(times))
        ]
        self.messages = sorted([*self.messages, *seeded], key=lambda m: float(m.ts))
        return len(seeded)

    def store(
        self,
        channel: Channel,
        *,
        text: str,
        blocks: list[object] | None,
        metadata: dict[str, object] | None,
        thread_ts: str | None,
        user: str = BOT_USER_ID,
    ) -> PostedMessage:
        message = PostedMessage(
            channel=channel.id,
            channel_name=channel.name,
            ts=self.next_ts(),
            text=text,
            blocks=blocks,
            metadata=metadata,
            thread_ts=thread_ts,
            posted_at=self.clock.now().isoformat(),
            user=user,
        )
        self.messages.append(message)
        if message.from_bot:
            self.stats.posted[channel.name] += 1
        return message
