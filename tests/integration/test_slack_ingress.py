"""The Slack route on a real broker: each event lands once, and a stopped broker stores nothing.

The app runs in process (ASGI) with the production AsyncProducer. "Lands once" is read back
from the topic. "Broker stopped" uses a private broker of this test's own (deploy/kafka/
kafka.sh with its own state directory and ports), stopped and started again; the shared
broker is never touched.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from pydantic import SecretStr

from chassis.kafka.async_producer import AsyncProducer
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from events.slack_events import SlackEventReceived
from ingress.app import create_app
from ingress.config import IngressSettings
from tests.integration.private_broker import PrivateBroker
from tests.unit.ingress.slack_kit import SECRET, envelope, reaction, signed_headers, thread_reply

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())


def stored(bootstrap: str, topic: str) -> list[SlackEventReceived]:
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    records = iter_to_end(settings, topic, client=f"test-{uuid.uuid4().hex[:6]}")
    return [SlackEventReceived.from_record(SERDE.decode(value)[1]) for _, value in records]


def create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    ensure_topics(admin, [TopicSpec(topic, partitions=3)])


@dataclass
class Slack:
    """Delivers signed events to the in-process ingress, as Slack would."""

    http: httpx.AsyncClient

    async def deliver(self, event_id: str, *, retry_num: int | None = None) -> httpx.Response:
        body = envelope(reaction(ts=f"1772445600.{event_id[-6:]}"), event_id=event_id)
        headers = signed_headers(body, retry_num=retry_num)
        return await self.http.post("/webhooks/slack", content=body, headers=headers)


@asynccontextmanager
async def ingress(bootstrap: str, topic: str) -> AsyncIterator[Slack]:
    settings = IngressSettings(slack_signing_secret=SecretStr(SECRET), slack_topic=topic)
    producer = AsyncProducer(
        KafkaSettings(bootstrap_servers=bootstrap),
        f"test-ingress-{uuid.uuid4().hex[:6]}",
        delivery_timeout_ms=settings.kafka_delivery_timeout_ms,
    )
    app = create_app(settings=settings, send=producer.send, serde=SERDE)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://in") as http:
            yield Slack(http)
    finally:
        producer.close(timeout=5)


def test_each_event_lands_once_however_often_slack_retries_it(
    kafka_bootstrap: str, unique: str
) -> None:
    topic = f"test.slack-event.{unique}"
    create_topic(kafka_bootstrap, topic)
    ids = [f"Ev{unique}{n:06d}" for n in range(40)]

    async def run() -> list[httpx.Response]:
        async with ingress(kafka_bootstrap, topic) as slack:
            # The first delivery and an immediate retry race; a later retry follows.
            racing = await asyncio.gather(
                *(slack.deliver(i) for i in ids), *(slack.deliver(i, retry_num=1) for i in ids)
            )
            later = [await slack.deliver(i, retry_num=2) for i in ids[::4]]
            return [*racing, *later]

    responses = asyncio.run(run())

    assert {r.status_code for r in responses} == {200}
    assert sum(not r.json()["duplicate"] for r in responses) == len(ids)
    counts = Counter(e.event_id for e in stored(kafka_bootstrap, topic))
    assert counts == Counter(ids)


def test_a_signed_body_larger_than_kafka_accepts_is_a_413_and_nothing_is_stored(
    kafka_bootstrap: str, unique: str
) -> None:
    """Issue 10 item 3: librdkafka refused it at produce time and the ingress answered 500,
    which Slack retries forever; no retry can store it, so the answer is a 413."""
    topic = f"test.slack-event.{unique}"
    create_topic(kafka_bootstrap, topic)
    huge = envelope(thread_reply(text="approve " * 140_000), event_id=f"Ev{unique}")
    assert len(huge) > 1_048_588, "over the broker's and the producer's largest message"

    async def run() -> tuple[httpx.Response, httpx.Response]:
        async with ingress(kafka_bootstrap, topic) as slack:
            refused = await slack.http.post(
                "/webhooks/slack", content=huge, headers=signed_headers(huge)
            )
            fine = await slack.deliver(f"Ev{unique}ok")
            return refused, fine

    refused, fine = asyncio.run(run())

    assert refused.status_code == 413
    assert fine.status_code == 200
    assert [e.event_id for e in stored(kafka_bootstrap, topic)] == [f"Ev{unique}ok"]


def test_a_record_over_the_topics_own_size_limit_is_a_413_not_a_503_retried_forever(
    kafka_bootstrap: str, unique: str
) -> None:
    """A topic an operator set to a smaller max.message.bytes: the broker refuses the record
    in its delivery report; no retry can store it, so the sender hears 413, not 503."""
    topic = f"test.slack-event.{unique}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    created = admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1,
                  config={"max.message.bytes": "4096"})]
    )  # fmt: skip
    created[topic].result(timeout=30)
    # Random text: the producer compresses, and a repeated word would shrink below 4 KiB.
    big = envelope(thread_reply(text=secrets.token_urlsafe(15_000)), event_id=f"Ev{unique}big")

    async def run() -> tuple[httpx.Response, httpx.Response]:
        async with ingress(kafka_bootstrap, topic) as slack:
            refused = await slack.http.post("/webhooks/slack", content=big,
                                            headers=signed_headers(big))  # fmt: skip
            fine = await slack.deliver(f"Ev{unique}ok")
            return refused, fine

    refused, fine = asyncio.run(run())

    assert refused.status_code == 413
    assert "too large" in refused.json()["error"]
    assert fine.status_code == 200
    assert [e.event_id for e in stored(kafka_bootstrap, topic)] == [f"Ev{unique}ok"]


# ---- a private broker that can be stopped ---------------------------------------------------


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    broker = PrivateBroker.under(tmp_path / "state")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_with_the_broker_stopped_slack_gets_503_and_nothing_is_stored(
    private_broker: PrivateBroker, unique: str
) -> None:
    topic = f"test.slack-event.{unique}"
    create_topic(private_broker.bootstrap, topic)

    async def run() -> tuple[httpx.Response, list[httpx.Response], httpx.Response]:
        async with ingress(private_broker.bootstrap, topic) as slack:
            before = await slack.deliver("EvBefore")
            private_broker.stop()
            during = [await slack.deliver("EvDuring", retry_num=n) for n in (None, 1)]
            await asyncio.to_thread(private_broker.start)
            after = await _deliver_until_stored(slack, "EvDuring", first_retry=2)
            return before, during, after

    before, during, after = asyncio.run(run())

    assert before.status_code == 200
    assert [r.status_code for r in during] == [503, 503]
    assert all("Retry-After" in r.headers for r in during)
    assert after.status_code == 200
    assert after.json()["duplicate"] is False, "a refused delivery was stored after all"
    events = stored(private_broker.bootstrap, topic)
    assert sorted(e.event_id for e in events) == ["EvBefore", "EvDuring"]
    [during_event] = [e for e in events if e.event_id == "EvDuring"]
    assert during_event.retry_num >= 2, "only the retry that was acknowledged may be stored"


async def _deliver_until_stored(slack: Slack, event_id: str, *, first_retry: int) -> httpx.Response:
    """Slack's retries after the broker is back: the producer may need a moment to reconnect."""
    async with asyncio.timeout(60):
        retry = first_retry
        while True:
            response = await slack.deliver(event_id, retry_num=retry)
            if response.status_code != 503:
                return response
            retry += 1
