"""Signed Slack deliveries for the ingress tests, built the way Slack builds them.

Signing here is written out from Slack's documented recipe rather than through the code
under test, so a test compares the ingress with the recipe and with slack-sdk.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from slack_sdk.signature import Clock

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0001"
CHANNEL = "C0INVOICES"
PARENT_TS = "1772445600.000100"


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self.at = now

    def now(self) -> float:
        return self.at


def signature_of(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes, *, at: float | None = None, secret: str = SECRET, retry_num: int | None = None
) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature_of(body, timestamp, secret),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def envelope(event: dict[str, Any], *, event_id: str = "Ev0001", team: str = TEAM) -> bytes:
    return json.dumps(
        {
            "token": "verification-token-unused",
            "team_id": team,
            "api_app_id": "A0CONNECTOR",
            "event": event,
            "type": "event_callback",
            "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}],
            "event_id": event_id,
            "event_time": 1772445660,
        }
    ).encode()


def reaction(
    *, reaction_name: str = "white_check_mark", user: str = "U0APPROVER", ts: str = PARENT_TS
) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction_name,
        "item_user": "U0BOT",
        "item": {"type": "message", "channel": CHANNEL, "ts": ts},
        "event_ts": "1772445660.000200",
    }


def thread_reply(*, text: str = "approve", user: str = "U0APPROVER") -> dict[str, Any]:
    return {
        "type": "message",
        "channel": CHANNEL,
        "user": user,
        "text": text,
        "ts": "1772445670.000300",
        "thread_ts": PARENT_TS,
        "event_ts": "1772445670.000300",
        "channel_type": "channel",
    }
