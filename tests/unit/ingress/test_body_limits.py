"""Issue 10 items 3-4: bodies are bounded before any route reads them.

The app is driven at the ASGI level, where the test is the server: it decides what each
`receive()` returns (a declared length, endless chunks, nothing at all) and counts how much
of a body the app asked for. A route that reads the whole body first would hang on an
endless one, so every call has a deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fake_sender import FakeSender
from pydantic import SecretStr, ValidationError
from slack_kit import SECRET, envelope, signed_headers, thread_reply

from chassis.serde import AvroSerde, SchemaCatalog
from ingress.app import create_app
from ingress.body_limit import LINGER_BYTES, BodyBudget
from ingress.config import KAFKA_MAX_MESSAGE_BYTES, MAX_RECORD_BYTES, IngressSettings

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SERDE = AvroSerde(SchemaCatalog.load())
LIMIT = 64 * 1024
CHUNK = 16 * 1024
DEADLINE = 10.0


@dataclass
class Exchange:
    """One request as the server sees it: what the app read, and what it answered."""

    read_calls: int = 0
    bytes_given: int = 0
    bytes_at_answer: int | None = None
    """How much of the body the app had asked for when its status line went out."""
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode().lower(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def body(self) -> dict[str, Any]:
        data = b"".join(m.get("body", b"") for m in self.messages[1:])
        parsed: dict[str, Any] = json.loads(data)
        return parsed


Chunks = Callable[[Exchange], Awaitable[dict[str, Any]]]


def make_app(
    sender: FakeSender | None = None, *, body_budget: BodyBudget | None = None, **settings: Any
) -> Any:
    settings.setdefault("slack_signing_secret", SecretStr(SECRET))
    settings.setdefault("max_body_bytes", LIMIT)
    return create_app(
        settings=IngressSettings(**settings), send=sender or FakeSender(), serde=SERDE,
        body_budget=body_budget,
    )  # fmt: skip


async def call(app: Any, chunks: Chunks, headers: dict[str, str]) -> Exchange:
    exchange = Exchange()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/webhooks/slack", "raw_path": b"/webhooks/slack",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        exchange.read_calls += 1
        message = await chunks(exchange)
        exchange.bytes_given += len(message.get("body", b""))
        return message

    async def send(message: dict[str, Any]) -> None:
        if not exchange.messages:
            exchange.bytes_at_answer = exchange.bytes_given
        exchange.messages.append(message)

    async with asyncio.timeout(DEADLINE):
        await app(scope, receive, send)
    return exchange


async def endless(exchange: Exchange) -> dict[str, Any]:
    # Yields to the loop, so the deadline fires on an app that would read forever.
    await asyncio.sleep(0)
    if exchange.bytes_given > 100 * LIMIT:
        raise AssertionError("the app kept reading far past the limit")
    return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}


def whole(body: bytes) -> Chunks:
    async def once(exchange: Exchange) -> dict[str, Any]:
        if exchange.read_calls == 1:
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the server's disconnect, which never comes here
        raise AssertionError("unreachable")

    return once


async def test_a_declared_body_over_the_limit_is_413_before_a_byte_is_read() -> None:
    exchange = await call(make_app(), endless, {"content-length": str(200 * 1024 * 1024)})
    assert exchange.status == 413
    assert exchange.bytes_at_answer == 0
    assert exchange.headers["connection"] == "close"
    assert str(LIMIT) in exchange.body["error"]
    # Then a bounded linger (so the client can read the 413 before the close), not the rest.
    assert exchange.bytes_given <= LINGER_BYTES + CHUNK


async def test_a_refused_body_that_ends_within_the_linger_is_read_to_its_end() -> None:
    async def ends_soon(exchange: Exchange) -> dict[str, Any]:
        more = exchange.read_calls < 10
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": more}

    exchange = await call(make_app(), ends_soon, {"content-length": str(10 * CHUNK)})
    assert exchange.status == 413
    assert exchange.bytes_at_answer == 0
    assert exchange.read_calls == 10, "read to the end, so closing does not reset the connection"


async def test_a_streamed_body_is_413_as_soon_as_it_passes_the_limit() -> None:
    exchange = await call(make_app(), endless, {"transfer-encoding": "chunked"})
    assert exchange.status == 413
    assert exchange.bytes_at_answer is not None
    assert exchange.bytes_at_answer <= LIMIT + CHUNK
    assert exchange.bytes_given <= LIMIT + CHUNK + LINGER_BYTES + CHUNK
    assert exchange.headers["connection"] == "close"


async def test_a_body_that_does_not_arrive_is_cut_off_by_the_read_timeout() -> None:
    async def trickle(exchange: Exchange) -> dict[str, Any]:
        if exchange.read_calls > 3:
            await asyncio.Event().wait()  # the sender stops sending, and never disconnects
        return {"type": "http.request", "body": b"{", "more_body": True}

    app = make_app(body_read_timeout_seconds=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    exchange = await call(app, trickle, {"transfer-encoding": "chunked"})
    assert exchange.status == 408
    assert loop.time() - started < 2.0
    assert exchange.headers["connection"] == "close"


async def test_a_malformed_content_length_is_a_400() -> None:
    for value in ("abc", "-1", "1" * 40):
        exchange = await call(make_app(), endless, {"content-length": value})
        assert exchange.status == 400
        assert exchange.bytes_at_answer == 0


async def test_bodies_in_flight_share_one_budget_and_the_excess_is_503() -> None:
    gate, holding = asyncio.Event(), asyncio.Event()

    async def held_open(exchange: Exchange) -> dict[str, Any]:
        if exchange.read_calls == 1:
            return {"type": "http.request", "body": b"x" * (LIMIT - 10), "more_body": True}
        holding.set()  # the app took the first chunk and asks for more
        await gate.wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    budget = BodyBudget(LIMIT + LIMIT // 2)
    app = make_app(body_budget=budget)
    first = asyncio.create_task(call(app, held_open, {"transfer-encoding": "chunked"}))
    async with asyncio.timeout(DEADLINE):
        await holding.wait()
    assert budget.held == LIMIT - 10
    second = await call(app, held_open, {"transfer-encoding": "chunked"})
    assert second.status == 503
    assert int(second.headers["retry-after"]) >= 1
    gate.set()
    assert (await first).status == 401  # read in full, then refused: it is not signed
    body = envelope(thread_reply())
    third = await call(app, whole(body), signed_headers(body) | {"content-length": str(len(body))})
    assert third.status == 200
    assert budget.held == 0, "every request gives its bytes back once it is done"


async def test_a_body_within_the_limit_reaches_the_route_whole() -> None:
    sender = FakeSender()
    body = envelope(thread_reply(text="y" * 30_000))
    assert len(body) < LIMIT
    headers = signed_headers(body) | {"transfer-encoding": "chunked"}
    pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]

    async def chunked(exchange: Exchange) -> dict[str, Any]:
        index = exchange.read_calls - 1
        if index >= len(pieces):
            await asyncio.Event().wait()
        more = index < len(pieces) - 1
        return {"type": "http.request", "body": pieces[index], "more_body": more}

    exchange = await call(make_app(sender), chunked, headers)
    assert exchange.status == 200
    assert len(sender.sent) == 1


# ---- item 3: the body limit stays below what Kafka accepts ----------------------------------


def test_the_body_limit_cannot_be_set_above_what_kafka_accepts() -> None:
    assert MAX_RECORD_BYTES < KAFKA_MAX_MESSAGE_BYTES
    assert IngressSettings().max_body_bytes <= MAX_RECORD_BYTES
    with pytest.raises(ValidationError, match="max_body_bytes"):
        IngressSettings(max_body_bytes=KAFKA_MAX_MESSAGE_BYTES)
    with pytest.raises(ValidationError, match="MAX_INFLIGHT_BODY_BYTES"):
        IngressSettings(max_body_bytes=100_000, max_inflight_body_bytes=50_000)


async def test_a_client_gone_mid_body_gets_no_answer_and_its_bytes_are_given_back() -> None:
    async def leaves(exchange: Exchange) -> dict[str, Any]:
        if exchange.read_calls == 1:
            return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}
        return {"type": "http.disconnect"}

    budget = BodyBudget(LIMIT * 4)
    exchange = await call(make_app(body_budget=budget), leaves, {"transfer-encoding": "chunked"})
    assert exchange.messages == []
    assert budget.held == 0
