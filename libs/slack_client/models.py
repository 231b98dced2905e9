"""Slack wire payloads: what we send as metadata and what we read back.

Slack's JSON is snake_case already, so no aliases. Unknown fields are ignored because
Slack adds fields freely.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["MessageMetadata", "PostedMessage", "SlackUser", "SlackUserProfile", "StoredMessage"]


class _SlackModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MessageMetadata(_SlackModel):
    """Machine-readable metadata attached to a message (`metadata` on chat.postMessage)."""

    event_type: str
    event_payload: dict[str, Any] = {}


class PostedMessage(_SlackModel):
    """Where a message landed: enough to thread a reply or find it again."""

    channel: str
    ts: str


class SlackUserProfile(_SlackModel):
    email: str | None = None
    real_name: str | None = None
    display_name: str | None = None


class SlackUser(_SlackModel):
    id: str
    team_id: str | None = None
    name: str | None = None
    real_name: str | None = None
    profile: SlackUserProfile = SlackUserProfile()

    @property
    def email(self) -> str | None:
        return self.profile.email


class StoredMessage(_SlackModel):
    """A message as conversations.history returns it (the parts we read)."""

    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    metadata: MessageMetadata | None = None


_HistoryMessage = StoredMessage


class _ResponseMetadata(_SlackModel):
    next_cursor: str | None = None


class _Paged(_SlackModel):
    response_metadata: _ResponseMetadata | None = None

    @property
    def next_cursor(self) -> str | None:
        cursor = self.response_metadata.next_cursor if self.response_metadata else None
        return cursor or None


class HistoryPage(_Paged):
    """conversations.history or conversations.replies response body (the parts we read)."""

    messages: list[_HistoryMessage] = []
    has_more: bool = False


class ChannelSummary(_SlackModel):
    """One channel of conversations.list: `is_member` says whether the bot is in it."""

    id: str
    name: str = ""
    is_member: bool | None = None


class AuthIdentity(_SlackModel):
    """auth.test: whom the token belongs to, and the scopes Slack lists in X-OAuth-Scopes."""

    team: str = ""
    team_id: str = ""
    user: str = ""
    user_id: str = ""
    scopes: tuple[str, ...] | None = None
    """None when the answer carried no X-OAuth-Scopes header."""


class ChannelPage(_Paged):
    """conversations.list response body (the parts we read)."""

    channels: list[ChannelSummary] = []
