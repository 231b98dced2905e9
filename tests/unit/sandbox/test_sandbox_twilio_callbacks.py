"""Status callbacks from the Twilio sandbox, checked with the official `RequestValidator`.

Every callback the sandbox POSTs to a message's StatusCallback URL passes
`twilio.request_validator.RequestValidator` for the account's Auth Token; the same callback
with a changed parameter, another URL, another token or an altered signature fails it. The
delivery modes do what they promise: `once` posts each status change once and in order (none
for `queued`), `at_least_once` repeats them with the same idempotency token, `out_of_order`
lets the final status arrive before `sent`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs

import httpx
import pytest
from sandbox_kit import frozen_config
from twilio.request_validator import RequestValidator

from sandbox import create_app
from sandbox.twilio.config import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_FROM
from sandbox.twilio.state import TwilioState

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

CALLBACK_URL = "https://hooks.example.com/webhooks/twilio/status?tenant=tenant-se-1"
MESSAGES = f"/twilio/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages.json"
AUTH = (DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)


@dataclass(frozen=True)
class Received:
    url: str
    params: dict[str, str]
    signature: str
    idempotency_token: str


@dataclass
class Harness:
    client: httpx.AsyncClient
    twilio: TwilioState
    received: list[Received]

    async def send(self, to: str, body: str = "Invoice over 50,000 SEK") -> str:
        form = {"To": to, "From": DEMO_FROM, "Body": body, "StatusCallback": CALLBACK_URL}
        response = await self.client.post(MESSAGES, data=form, auth=AUTH)
        assert response.status_code == 201, response.text
        sid: str = response.json()["sid"]
        return sid

    async def advance(self, seconds: float) -> None:
        response = await self.client.post(
            "/twilio/_sandbox/clock", json={"advance_seconds": seconds}
        )
        response.raise_for_status()
        await self.twilio.drain()

    def statuses(self, sid: str) -> list[str]:
        return [r.params["MessageStatus"] for r in self.received if r.params["MessageSid"] == sid]


async def _harness(mode: str) -> AsyncIterator[Harness]:
    received: list[Received] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        params = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        received.append(
            Received(
                url=str(request.url),
                params=params,
                signature=request.headers["X-Twilio-Signature"],
                idempotency_token=request.headers["I-Twilio-Idempotency-Token"],
            )
        )
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        return httpx.Response(200)

    config = frozen_config().model_copy(deep=True)
    config.twilio.callbacks.mode = mode  # type: ignore[assignment]
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as hooks:
        app = create_app(config, webhook_client=hooks)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            yield Harness(client, app.state.sandbox.twilio, received)
            await app.state.sandbox.twilio.cancel()


@pytest.fixture
async def once() -> AsyncIterator[Harness]:
    async for harness in _harness("once"):
        yield harness


async def test_callbacks_pass_the_official_validator(once: Harness) -> None:
    sid = await once.send("+46701120001")
    await once.advance(10)
    assert once.statuses(sid) == ["sent", "delivered"]  # none for queued, each once, in order
    validator = RequestValidator(DEMO_AUTH_TOKEN)
    for callback in once.received:
        assert callback.url == CALLBACK_URL
        assert validator.validate(callback.url, callback.params, callback.signature)
    delivered = once.received[-1].params
    assert delivered["MessageSid"] == delivered["SmsSid"] == sid
    assert delivered["SmsStatus"] == "delivered"
    assert delivered["AccountSid"] == DEMO_ACCOUNT_SID
    assert (delivered["From"], delivered["To"]) == (DEMO_FROM, "+46701120001")
    assert delivered["ApiVersion"] == "2010-04-01"
    assert "ErrorCode" not in delivered


async def test_tampered_callbacks_fail_the_official_validator(once: Harness) -> None:
    await once.send("+46701120002")
    await once.advance(10)
    callback = once.received[-1]
    validator = RequestValidator(DEMO_AUTH_TOKEN)
    forged_status = {**callback.params, "MessageStatus": "undelivered"}
    extra_param = {**callback.params, "ErrorCode": "30003"}
    other_url = CALLBACK_URL.replace("tenant-se-1", "tenant-no-1")
    altered = ("A" if callback.signature[0] != "A" else "B") + callback.signature[1:]
    assert not validator.validate(callback.url, forged_status, callback.signature)
    assert not validator.validate(callback.url, extra_param, callback.signature)
    assert not validator.validate(other_url, callback.params, callback.signature)
    assert not validator.validate(callback.url, callback.params, altered)
    assert not RequestValidator("another-token").validate(
        callback.url, callback.params, callback.signature
    )


async def test_failures_carry_their_error_code(once: Harness) -> None:
    undelivered = await once.send("+46700030005")
    failed = await once.send("+46700030006")
    await once.advance(10)
    assert once.statuses(undelivered) == ["sent", "undelivered"]
    assert once.statuses(failed) == ["failed"]
    last = {r.params["MessageSid"]: r.params for r in once.received}
    assert last[undelivered]["ErrorCode"] == "30005"
    assert last[undelivered]["ErrorMessage"] == "Unknown destination handset"
    assert last[failed]["ErrorCode"] == "30006"


async def test_no_callback_url_no_callback(once: Harness) -> None:
    form = {"To": "+46701120003", "From": DEMO_FROM, "Body": "quiet"}
    response = await once.client.post(MESSAGES, data=form, auth=AUTH)
    assert response.status_code == 201
    await once.advance(10)
    assert once.received == []
    admin = await once.client.get("/twilio/_sandbox/messages", params={"to": "+46701120003"})
    assert admin.json()[0]["history"] == ["queued", "sent", "delivered"]


async def test_at_least_once_repeats_with_the_same_idempotency_token() -> None:
    async for harness in _harness("at_least_once"):
        sid = await harness.send("+46701120004")
        await harness.advance(10)
        assert harness.statuses(sid) == ["sent", "sent", "delivered", "delivered"]
        tokens = [r.idempotency_token for r in harness.received]
        assert tokens[0] == tokens[1] != tokens[2] == tokens[3]
        validator = RequestValidator(DEMO_AUTH_TOKEN)
        assert all(validator.validate(r.url, r.params, r.signature) for r in harness.received)


async def test_out_of_order_delivers_the_final_status_before_sent() -> None:
    async for harness in _harness("out_of_order"):
        sids = [await harness.send(f"+4670112001{n}") for n in range(3)]
        await harness.advance(1)
        assert harness.received == []  # every sent callback is held back
        await harness.advance(10)
        for sid in sids:
            assert harness.statuses(sid) == ["delivered", "sent"]


async def test_callbacks_come_on_their_own_on_a_running_clock() -> None:
    """No drain, no clock jumps: the background ticker applies the steps and posts them."""
    done = asyncio.Event()
    received: list[str] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        params = parse_qs(request.content.decode())
        received.append(params["MessageStatus"][0])
        if params["MessageStatus"][0] == "delivered":
            done.set()
        return httpx.Response(204)

    config = frozen_config().model_copy(deep=True)
    config.clock_speed = 20.0  # 4 sandbox seconds from queued to delivered: 0.2 s
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as hooks:
        app = create_app(config, webhook_client=hooks)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            form = {
                "To": "+46701120020",
                "From": DEMO_FROM,
                "Body": "x",
                "StatusCallback": CALLBACK_URL,
            }
            assert (await client.post(MESSAGES, data=form, auth=AUTH)).status_code == 201
            await asyncio.wait_for(done.wait(), timeout=10)
            await app.state.sandbox.twilio.cancel()
    assert received == ["sent", "delivered"]


async def test_a_hanging_receiver_blocks_no_request() -> None:
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def receiver(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await release.wait()
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as hooks:
        app = create_app(frozen_config(), webhook_client=hooks)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            form = {
                "To": "+46701120021",
                "From": DEMO_FROM,
                "Body": "x",
                "StatusCallback": CALLBACK_URL,
            }
            await client.post(MESSAGES, data=form, auth=AUTH)
            await client.post("/twilio/_sandbox/clock", json={"advance_seconds": 10})
            await client.get(MESSAGES, auth=AUTH)  # applies the due steps, spawns the callbacks
            await asyncio.wait_for(arrived.wait(), timeout=10)
            form["To"] = "+46701120022"
            answered = await asyncio.wait_for(client.post(MESSAGES, data=form, auth=AUTH), 5)
            assert answered.status_code == 201
            release.set()
            await app.state.sandbox.twilio.drain()
            await app.state.sandbox.twilio.cancel()


async def _spin(turns: int = 50) -> None:
    """Let every runnable task run (no time passes: MockTransport answers in-loop)."""
    for _ in range(turns):
        await asyncio.sleep(0)


async def test_callback_posts_are_capped() -> None:
    release = asyncio.Event()
    open_now = 0
    peak = 0

    async def receiver(request: httpx.Request) -> httpx.Response:
        nonlocal open_now, peak
        open_now += 1
        peak = max(peak, open_now)
        await release.wait()
        open_now -= 1
        return httpx.Response(200)

    config = frozen_config().model_copy(deep=True)
    config.twilio.callbacks.max_concurrent = 2
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as hooks:
        app = create_app(config, webhook_client=hooks)
        twilio: TwilioState = app.state.sandbox.twilio
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            for n in range(5):
                form = {"To": f"+4670112003{n}", "From": DEMO_FROM, "Body": "x",
                        "StatusCallback": CALLBACK_URL}  # fmt: skip
                assert (await client.post(MESSAGES, data=form, auth=AUTH)).status_code == 201
            await client.post("/twilio/_sandbox/clock", json={"advance_seconds": 10})
            twilio.apply_due()
            await _spin()
            assert open_now == 2  # the cap holds the other eight POSTs back
            release.set()
            await twilio.drain()
            await twilio.cancel()
    assert peak == 2
    assert twilio.callbacks.stats.attempts == 10


async def test_a_slow_sent_callback_is_not_overtaken_by_delivered() -> None:
    release = asyncio.Event()
    seen: list[str] = []

    async def receiver(request: httpx.Request) -> httpx.Response:
        status = parse_qs(request.content.decode())["MessageStatus"][0]
        seen.append(status)
        if status == "sent":
            await release.wait()
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as hooks:
        app = create_app(frozen_config(), webhook_client=hooks)
        twilio: TwilioState = app.state.sandbox.twilio
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            form = {"To": "+46701120040", "From": DEMO_FROM, "Body": "x",
                    "StatusCallback": CALLBACK_URL}  # fmt: skip
            assert (await client.post(MESSAGES, data=form, auth=AUTH)).status_code == 201
            await client.post("/twilio/_sandbox/clock", json={"advance_seconds": 10})
            twilio.apply_due()  # sent and delivered are both due at once
            await _spin()
            assert seen == ["sent"]  # delivered waits for the sent POST to be answered
            release.set()
            await twilio.drain()
            await twilio.cancel()
    assert seen == ["sent", "delivered"]
