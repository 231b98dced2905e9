"""Approvers' emails become Slack user ids, asked once; unknown emails are not mentioned."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from slack_client import SlackClient, SlackCredentialError
from slack_sink.mentions import MISS_SECONDS, Mentions

pytestmark = pytest.mark.unit

USERS = {"ann@example.com": "U1", "bo@example.com": "U2"}


class Directory:
    def __init__(self, error: str | None = None) -> None:
        self.asked: list[str] = []
        self.error = error

    def __call__(self, request: httpx.Request) -> httpx.Response:
        email = request.url.params["email"]
        self.asked.append(email)
        if self.error:
            return httpx.Response(200, json={"ok": False, "error": self.error})
        if email not in USERS:
            return httpx.Response(200, json={"ok": False, "error": "users_not_found"})
        return httpx.Response(200, json={"ok": True, "user": {"id": USERS[email]}})


def _client(directory: Directory) -> SlackClient:
    http = httpx.AsyncClient(
        base_url="https://slack.test/api", transport=httpx.MockTransport(directory)
    )
    return SlackClient(http, token=SecretStr("xoxb-test"))


@pytest.mark.anyio
async def test_emails_map_to_user_ids_once_each() -> None:
    directory = Directory()
    now = [0.0]
    mentions = Mentions(clock=lambda: now[0])
    emails = ["Ann@example.com ", "nobody@example.com", "bo@example.com", "ann@example.com"]

    first = await mentions.user_ids(_client(directory), "default", emails)
    second = await mentions.user_ids(_client(directory), "default", emails)

    assert first == second == ["U1", "U2"]
    assert directory.asked == ["ann@example.com", "nobody@example.com", "bo@example.com"]
    now[0] = MISS_SECONDS + 1  # an unknown email is asked again later (a new hire)
    await mentions.user_ids(_client(directory), "default", emails)
    assert directory.asked[3:] == ["nobody@example.com"]


@pytest.mark.anyio
async def test_a_missing_scope_posts_without_mentions_but_a_revoked_token_raises() -> None:
    assert await Mentions().user_ids(_client(Directory("missing_scope")), "w", ["a@b.se"]) == []
    with pytest.raises(SlackCredentialError):
        await Mentions().user_ids(_client(Directory("token_revoked")), "w", ["a@b.se"])
