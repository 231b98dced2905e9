"""Issue 10 items 1-2: a malformed header or an extreme field is a 4xx naming it, never a 500.

Every request here is built to reach the code that converts or encodes a value: signed
where the check under test comes after the signature, so a 500 (the app raising through
httpx's ASGI transport) cannot hide behind a 401.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fake_sender import FakeSender
from pydantic import SecretStr
from slack_kit import SECRET, envelope, reaction, signature_of, signed_headers, thread_reply
from test_visma_webhook import NOTE, body_of, sign

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


@pytest.fixture
def http(ingress_client: Callable[..., httpx.AsyncClient], sender: FakeSender) -> httpx.AsyncClient:
    return ingress_client(
        sender,
        slack_signing_secret=SecretStr(SECRET),
        visma_webhook_secret=SecretStr("whsec-unit-test-key"),
    )


async def post_slack(http: httpx.AsyncClient, body: bytes, headers: Any) -> httpx.Response:
    return await http.post("/webhooks/slack", content=body, headers=headers)


# ---- item 1: malformed signature headers ------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        pytest.param("9" * 309, id="309-digits-overflows-a-float"),
        pytest.param("9" * 5000, id="5000-digits-over-int-conversion-limit"),
        pytest.param("9" * 13, id="13-digits"),
        pytest.param("-1772445660", id="negative"),
        pytest.param("+1772445660", id="plus-sign"),
        pytest.param("1_772_445_660", id="underscores"),
        pytest.param("1e9", id="exponent"),
        pytest.param("1772445660.5", id="fraction"),
    ],
)
async def test_a_slack_timestamp_of_any_size_or_form_is_a_401(
    http: httpx.AsyncClient, sender: FakeSender, timestamp: str
) -> None:
    body = envelope(reaction())
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature_of(body, timestamp),
    }
    response = await post_slack(http, body, headers)
    assert response.status_code == 401
    assert "X-Slack-Request-Timestamp" in response.json()["error"]
    assert sender.sent == []


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("v0=" + "a" * 100_000, id="100k-hex-digits"),
        pytest.param("v0=" + "g" * 64, id="not-hex"),
        pytest.param("x" * 8000, id="8000-chars"),
    ],
)
async def test_a_slack_signature_of_any_size_or_form_is_a_401(
    http: httpx.AsyncClient, sender: FakeSender, signature: str
) -> None:
    body = envelope(reaction())
    headers = signed_headers(body) | {"X-Slack-Signature": signature}
    response = await post_slack(http, body, headers)
    assert response.status_code == 401
    assert sender.sent == []


@pytest.mark.parametrize("signature", ["A" * 100_000, "=" * 44, "\t" * 10])
async def test_a_visma_signature_of_any_size_or_form_is_a_401(
    http: httpx.AsyncClient, sender: FakeSender, signature: str
) -> None:
    body = body_of()
    response = await http.post(
        "/webhooks/visma", content=body, headers={"X-Visma-Signature": signature}
    )
    assert response.status_code == 401
    assert sender.sent == []


# ---- item 2: signed requests with extreme values ----------------------------------------------


def signed_envelope(**overrides: Any) -> bytes:
    document = json.loads(envelope(reaction()))
    document.update(overrides)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "event_time",
    [
        pytest.param(1e20, id="1e20"),
        pytest.param(-1e15, id="-1e15"),
        pytest.param(-1, id="-1"),
        pytest.param(10**30, id="30-digit-int"),
        pytest.param(253_402_300_800, id="year-10000"),
        pytest.param(1.5e300, id="1.5e300"),
    ],
)
async def test_an_extreme_event_time_is_a_400_naming_it(
    http: httpx.AsyncClient, sender: FakeSender, event_time: float
) -> None:
    body = signed_envelope(event_time=event_time)
    response = await post_slack(http, body, signed_headers(body))
    assert response.status_code == 400
    assert response.json()["error"].startswith("event_time")
    assert sender.sent == []


@pytest.mark.parametrize(
    "retry_num",
    [
        pytest.param("9" * 30, id="30-digits"),
        pytest.param("2147483648", id="over-avro-int"),
        pytest.param("1001", id="over-the-bound"),
        pytest.param("-1", id="negative"),
        pytest.param("one", id="words"),
        pytest.param("", id="empty"),
    ],
)
async def test_an_extreme_retry_number_is_a_400_naming_it(
    http: httpx.AsyncClient, sender: FakeSender, retry_num: str
) -> None:
    body = envelope(reaction())
    headers = signed_headers(body) | {"X-Slack-Retry-Num": retry_num}
    response = await post_slack(http, body, headers)
    assert response.status_code == 400
    assert response.json()["error"].startswith("X-Slack-Retry-Num")
    assert sender.sent == []


async def test_the_largest_retry_number_slack_could_send_is_stored(
    http: httpx.AsyncClient, sender: FakeSender
) -> None:
    body = envelope(reaction())
    response = await post_slack(http, body, signed_headers(body) | {"X-Slack-Retry-Num": "1000"})
    assert response.status_code == 200
    assert len(sender.sent) == 1


@pytest.mark.parametrize(
    ("event", "field"),
    [
        pytest.param(reaction(ts="1" * 100_000), "event.item.ts", id="item-ts-100k"),
        pytest.param(reaction() | {"user": "U" * 256}, "event.user", id="user-256"),
        pytest.param(reaction() | {"reaction": "r" * 1000}, "event.reaction", id="reaction-1000"),
        pytest.param(thread_reply(text="x" * 40_001), "event.text", id="text-40001"),
        pytest.param(thread_reply() | {"channel": "C" * 300}, "event.channel", id="channel-300"),
        pytest.param(reaction() | {"type": ""}, "event.type", id="empty-type"),
    ],
)
async def test_an_oversized_field_is_a_400_naming_it(
    http: httpx.AsyncClient, sender: FakeSender, event: dict[str, Any], field: str
) -> None:
    body = envelope(event)
    response = await post_slack(http, body, signed_headers(body))
    assert response.status_code == 400
    assert response.json()["error"].startswith(field)
    assert sender.sent == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tenantId", "t" * 256),
        ("companyId", "c" * 10_000),
        ("entity", "e" * 256),
        ("id", "i" * 256),
        ("timestamp", "2" * 65),
        ("tenantId", 10**400),
    ],
)
async def test_an_oversized_visma_field_is_a_400_naming_it(
    http: httpx.AsyncClient, sender: FakeSender, field: str, value: Any
) -> None:
    body = body_of({**NOTE, field: value})
    response = await http.post(
        "/webhooks/visma", content=body, headers={"X-Visma-Signature": sign(body)}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(field)
    assert sender.sent == []


async def test_a_body_at_the_field_bounds_is_stored(
    http: httpx.AsyncClient, sender: FakeSender
) -> None:
    event = thread_reply(text="é" * 40_000) | {"user": "U" * 255}
    body = signed_envelope(event=event, event_time=253_402_300_799)
    response = await post_slack(http, body, signed_headers(body, at=time.time()))
    assert response.status_code == 200
    assert len(sender.sent) == 1
