"""Issue 10 item 5 (ingress side): a captured Visma notification replayed costs nothing.

Visma's signature carries no timestamp, so a replayed capture verifies forever. Within the
replay window an exact repeat is acknowledged without a second record (and so without a
second pull); after the window it is stored again, and another notification never waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fake_sender import FakeSender
from pydantic import SecretStr
from test_visma_webhook import NOTE, SECRET, SERDE, body_of, sign

from chassis.kafka.producer import ProduceError
from ingress.app import create_app
from ingress.config import IngressSettings
from ingress.dedupe import RecentEvents

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
WINDOW = 600.0


class StepClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(sender: FakeSender, clock: Callable[[], float] | None = None) -> httpx.AsyncClient:
    settings = IngressSettings(
        visma_webhook_secret=SecretStr(SECRET), visma_replay_window_seconds=WINDOW
    )
    recent = RecentEvents(10, window_seconds=WINDOW, clock=clock) if clock else None
    app = create_app(settings=settings, send=sender, serde=SERDE, visma_recent=recent)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://in")


async def post(http: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await http.post(
        "/webhooks/visma", content=body, headers={"X-Visma-Signature": sign(body)}
    )


async def test_100_replays_of_one_notification_are_stored_once() -> None:
    sender = FakeSender()
    body = body_of()
    async with client(sender) as http:
        first = [await post(http, body) for _ in range(50)]
        racing = await asyncio.gather(*(post(http, body) for _ in range(50)))
    responses = [*first, *racing]
    assert {r.status_code for r in responses} == {200}
    assert len(sender.sent) == 1
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    assert len({r.json()["id"] for r in responses}) == 1


async def test_a_repeat_after_the_window_is_stored_again_and_others_never_wait() -> None:
    sender, clock = FakeSender(), StepClock()
    body = body_of()
    other = body_of({**NOTE, "id": "Invoice:0043"})
    async with client(sender, clock) as http:
        assert (await post(http, body)).json()["duplicate"] is False
        clock.now += WINDOW - 1
        assert (await post(http, body)).json()["duplicate"] is True
        assert (await post(http, other)).json()["duplicate"] is False
        clock.now += 2
        assert (await post(http, body)).json()["duplicate"] is False
    assert len(sender.sent) == 3


async def test_a_repeat_of_a_notification_that_was_not_stored_is_stored() -> None:
    fail = True

    async def first_write_fails() -> None:
        if fail:
            raise ProduceError("broker said no")

    sender = FakeSender(behaviour=first_write_fails)
    body = body_of()
    async with client(sender) as http:
        refused = await post(http, body)
        fail = False
        stored = await post(http, body)
    assert (refused.status_code, stored.status_code) == (503, 200)
    assert stored.json()["duplicate"] is False
    assert len(sender.sent) == 1
