"""Callback storm on the real broker (issue 11 acceptance): 10,000 Twilio status callbacks.

Good callbacks are signed with the official `RequestValidator.compute_signature`, repeated
and shuffled (a `delivered` before its `sent`); among them are forged ones (another token),
unsigned ones and ones signed for another URL, each claiming a status that would change
the message's outcome if it were believed. The ingress runs in process (ASGI) with the
production AsyncProducer on a fresh topic; what it stored is read back from Kafka and the
most advanced status of every message is folded from it in the topic's order.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

import httpx
import pytest
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from chassis.kafka.async_producer import AsyncProducer
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from events.twilio_status import TwilioMessageStatus, advances
from ingress.app import create_app
from ingress.config import IngressSettings
from tests.integration.twilio_status_rig import StatusRig
from tests.unit.ingress.twilio_status_kit import (
    ACCOUNT,
    OTHER_TOKEN,
    PUBLIC_URL,
    TOKEN,
    callback,
    message_sid,
    signed,
)

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
TOTAL = 10_000
MESSAGES = 1_500
IN_FLIGHT = 100

# What Twilio reports for each kind of message, in the order it happened.
HISTORIES = {
    "delivered": ["sending", "sent", "delivered"],
    "read": ["sending", "sent", "delivered", "read"],
    "undelivered": ["sending", "sent", "undelivered"],
    "failed": ["failed"],
    "sent": ["sending", "sent"],
}
# A lie that would change each outcome if it were believed.
LIES = {
    "delivered": "read",
    "read": "failed",
    "undelivered": "delivered",
    "failed": "delivered",
    "sent": "delivered",
}


@dataclass(frozen=True)
class Post:
    sid: str
    status: str
    kind: str
    """good, forged, unsigned or misaddressed"""
    body: bytes
    headers: dict[str, str]


def storm(rng: random.Random) -> tuple[list[Post], dict[str, str]]:
    """TOTAL posts in a shuffled order, and each message's true final status."""
    outcomes = rng.choices(list(HISTORIES), weights=[50, 15, 15, 10, 10], k=MESSAGES)
    final = {message_sid(n): outcome for n, outcome in enumerate(outcomes)}
    posts: list[Post] = []
    for sid, outcome in final.items():
        for status in HISTORIES[outcome]:
            posts.append(_post(sid, status, "good"))
    bad_kinds = ["forged", "unsigned", "misaddressed"]
    while len(posts) < TOTAL:
        sid = rng.choice(list(final))
        if rng.random() < 0.5:  # a repeat of a genuine callback
            posts.append(_post(sid, rng.choice(HISTORIES[final[sid]]), "good"))
        else:
            posts.append(_post(sid, LIES[final[sid]], rng.choice(bad_kinds)))
    rng.shuffle(posts)
    return posts, final


def _post(sid: str, status: str, kind: str) -> Post:
    form = callback(sid, status)
    if status in ("failed", "undelivered"):
        form |= {"ErrorCode": "30003", "ErrorMessage": "Unreachable destination handset"}
    if kind == "forged":
        body, headers = signed(form, token=OTHER_TOKEN)
    elif kind == "misaddressed":
        body, headers = signed(form, url="https://other.example.com/webhooks/twilio/status")
    else:
        body, headers = signed(form)
    if kind == "unsigned":
        del headers["X-Twilio-Signature"]
    return Post(sid, status, kind, body, headers)


def out_of_order(good: list[Post], final: dict[str, str]) -> int:
    """Messages whose final status was posted before one of their earlier statuses."""
    seen_final: set[str] = set()
    late: set[str] = set()
    for post in good:
        if post.status == final[post.sid]:
            seen_final.add(post.sid)
        elif post.sid in seen_final:
            late.add(post.sid)
    return len(late)


async def deliver(bootstrap: str, topic: str, posts: list[Post]) -> list[int]:
    settings = IngressSettings(
        twilio_status_callback_url=PUBLIC_URL,
        twilio_auth_tokens={ACCOUNT: SecretStr(TOKEN)},
        twilio_topic=topic,
    )
    producer = AsyncProducer(
        KafkaSettings(bootstrap_servers=bootstrap),
        f"test-ingress-{uuid.uuid4().hex[:6]}",
        delivery_timeout_ms=settings.kafka_delivery_timeout_ms,
    )
    app = create_app(settings=settings, send=producer.send, serde=SERDE)
    slots = asyncio.Semaphore(IN_FLIGHT)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingress.internal:8080"
        ) as http:

            async def one(post: Post) -> int:
                async with slots:
                    response = await http.post(
                        "/webhooks/twilio/status", content=post.body, headers=post.headers
                    )
                    return response.status_code

            return list(await asyncio.gather(*(one(post) for post in posts)))
    finally:
        producer.close(timeout=5)


def test_a_storm_of_10000_callbacks_keeps_every_messages_final_status_right(
    kafka_bootstrap: str, unique: str
) -> None:
    topic = f"test.twilio-status.{unique}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    ensure_topics(admin, [TopicSpec(topic, partitions=6)])
    posts, final = storm(random.Random(11))
    kinds = Counter(post.kind for post in posts)

    started = time.monotonic()
    answers = asyncio.run(deliver(kafka_bootstrap, topic, posts))
    elapsed = time.monotonic() - started

    by_kind: dict[str, Counter[int]] = defaultdict(Counter)
    for post, status in zip(posts, answers, strict=True):
        by_kind[post.kind][status] += 1
    good = [post for post in posts if post.kind == "good"]
    distinct = {(post.sid, post.status) for post in good}
    backwards = out_of_order(good, final)
    print(  # the figures the acceptance asks for, shown with -s
        f"\n{len(posts)} callbacks in {elapsed:.1f} s: {dict(kinds)}; {len(distinct)} distinct "
        f"genuine transitions of {MESSAGES} messages, {len(good) - len(distinct)} repeats, "
        f"{backwards} messages whose final status came before an earlier one; "
        f"answers {dict(by_kind)}"
    )

    assert len(posts) == TOTAL
    assert backwards > MESSAGES // 3, "the storm is out of order"
    assert min(kinds.values()) > 500, "every kind of bad callback is in the storm"
    assert all(status < 500 for status in answers), "no callback is answered 5xx"
    assert by_kind["good"] == Counter({200: len(good)})
    for kind in ("forged", "unsigned", "misaddressed"):
        assert by_kind[kind] == Counter({403: kinds[kind]}), kind

    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    stored = [
        TwilioMessageStatus.from_record(SERDE.decode(value)[1])
        for _, value in iter_to_end(settings, topic, client=f"test-{unique}")
    ]
    transitions = Counter((event.message_sid, event.status) for event in stored)
    assert set(transitions) == distinct, "nothing forged stored, nothing genuine lost"
    assert max(transitions.values()) == 1, "each transition stored once"

    folded: dict[str, str] = {}
    for event in stored:  # topic order: per message, the order its partition holds
        if advances(folded.get(event.message_sid), event.status):
            folded[event.message_sid] = event.status
    assert folded == final

    # The sink's applier on what the storm stored: every ledger entry ends at its final status.
    numbers = list(range(MESSAGES))
    rig = StatusRig(settings, unique, {n: final[message_sid(n)] for n in numbers},
                    status_topic=TopicSpec(topic, 6))  # fmt: skip
    started = time.monotonic()
    try:
        asyncio.run(rig.run_sink(lambda: rig.done(numbers), lambda: rig.applied(numbers)))
    finally:
        rig.producer.close()
    print(f"applied to the ledger in {time.monotonic() - started:.1f} s")
    ledger = rig.ledger()
    assert {n: ledger[n]["message_status"] for n in numbers} == rig.final
