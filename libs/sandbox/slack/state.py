"""All per-run state of the Slack simulator: workspace, tokens, messages, limits.

Slack answers most failures with HTTP 200 and ``{"ok": false, "error": ...}``; a
:class:`SlackError` carries that code. Rate limiting is a token bucket per channel on the
sandbox clock (default 1 message per second, burst 1), like Slack's "special" tier for
chat.postMessage; the workspace-wide limit is not simulated.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from sandbox.clock import SandboxClock
from sandbox.config import SlackConfig
from sandbox.faults import FaultInjector

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

    def as_event(self, *, with_metadata: bool) -> dict[str, object]:
        event: dict[str, object] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": self.text,
            "ts": self.ts,
        }
        if self.blocks is not None:
            event["blocks"] = self.blocks
        if self.thread_ts is not None:
            event["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata is not None:
            event["metadata"] = self.metadata
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

    def as_dict(self) -> dict[str, object]:
        return {
            "posted": dict(self.posted),
            "rate_limited": dict(self.rate_limited),
            "errors": dict(self.errors),
        }


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    email: str


class SlackState:
    def __init__(self, config: SlackConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self.faults = FaultInjector()
        self.channels: dict[str, Channel] = {}
        self.tokens: dict[str, bool] = dict.fromkeys(config.bot_tokens, False)  # token→revoked
        self.users: dict[str, SlackUser] = {}
        self.reset()
        for name in [*config.channels, *config.extra_channels]:
            self.add_channel(name)
        for user in config.users:
            self.add_user(user.email, user.name)

    def reset(self) -> None:
        """Forget messages, statistics and rate-limit state; the workspace stays."""
        self.messages: list[PostedMessage] = []
        self.stats = SlackStats()
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

    def add_user(self, email: str, name: str) -> SlackUser:
        user = SlackUser(id=f"U0MLC{len(self.users) + 1:05d}", name=name, email=email.lower())
        self.users[user.email] = user
        return user

    def check_token(self, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        if token not in self.tokens:
            raise SlackError("invalid_auth")
        if self.tokens[token]:
            raise SlackError("token_revoked")

    def readable_channel(self, value: str | None) -> Channel:
        channel = self.find_channel(value or "")
        if channel is None:
            raise SlackError("channel_not_found")
        if not channel.is_member:
            raise SlackError("not_in_channel")
        return channel

    def next_ts(self) -> str:
        """Unique, increasing ``seconds.micros`` message timestamps from the sandbox clock."""
        micros = max(int(self.clock.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def store(
        self,
        channel: Channel,
        *,
        text: str,
        blocks: list[object] | None,
        metadata: dict[str, object] | None,
        thread_ts: str | None,
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
        )
        self.messages.append(message)
        self.stats.posted[channel.name] += 1
        return message
