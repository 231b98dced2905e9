"""The twilio-sink's status applier on the real broker, wired by its composition root.

Half of the messages are in the SMS ledger (DONE with their SID, on the partition of their
command) before their callbacks arrive, the other half only after the sink was stopped and
started again: their statuses must be kept across the restart and applied once their SID
shows up. Callbacks are repeated and shuffled; the ledger must end with each message's most
advanced status, and each SID's state must list every status once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from chassis.kafka.producer import EventProducer
from chassis.kafka.state import read_newest
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from events.twilio_deliveries import TwilioChannel, TwilioDelivery, TwilioDeliveryStatus
from events.twilio_status import TwilioMessageState, TwilioMessageStatus
from twilio_sink.credentials import CredentialSource
from twilio_sink.delivery import SmsSender
from twilio_sink.inject import SinkOptions, build

pytestmark = pytest.mark.integration

SERDE = AvroSerde(SchemaCatalog.load())
ACCOUNT = "AC" + "0" * 32
MESSAGES = 120
WAIT_SECONDS = 90.0
HISTORIES = {
    "delivered": ["sent", "delivered"],
    "read": ["sent", "delivered", "read"],
    "undelivered": ["sent", "undelivered"],
    "failed": ["failed"],
    "sent": ["queued", "sent"],
}


def sid(n: int) -> str:
    return f"SM{n:032x}"


def never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no SMS is sent in this test: {request.url}")


async def until(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {WAIT_SECONDS}s")
        await asyncio.sleep(0.2)


class Rig:
    """The sink's options on this test's topics, and what the sink and Twilio would write."""

    def __init__(self, kafka: KafkaSettings, unique: str, final: dict[int, str]) -> None:
        self.kafka, self.unique, self.final = kafka, unique, final
        self.options = SinkOptions(
            account_sid=ACCOUNT,
            auth=CredentialSource(value=SecretStr("token-1234")),
            sender=SmsSender(from_="+46700000001"),
            group_id=f"it-twilio-sink-{unique}",
            sms_topic=TopicSpec(f"it.{unique}.sink.twilio-sms.v1", 6),
            sms_ledger_topic=TopicSpec(
                f"it.{unique}.state.twilio-sms-ledger.v1", 6, compacted=True
            ),
            status_topic=TopicSpec(f"it.{unique}.twilio.message-status.v1", 6),
            status_state_topic=TopicSpec(f"it.{unique}.state.twilio-status.v1", 6, compacted=True),
            status_group_id=f"it-twilio-status-{unique}",
            status_sweep_seconds=0.2,
            transport=httpx.MockTransport(never_called),
        )
        self.producer = EventProducer(kafka, f"it-status-{unique}")

    def done(self, numbers: list[int]) -> None:
        """The sink's DONE entries, each on the partition of its command."""
        for n in numbers:
            entry = TwilioDelivery(
                command_id=f"cmd-{n}", channel=TwilioChannel.SMS,
                status=TwilioDeliveryStatus.DONE, to=f"+4670123{n:04d}", at=datetime.now(UTC),
                attempts=1, external_id=sid(n), message_status="queued",
                entity_id=f"t1/c1/invoice/{n}",
            )  # fmt: skip
            self.producer.send(self.options.sms_ledger_topic.name, key=entry.command_id,
                               partition=n % 6,
                               value=SERDE.encode(entry.SCHEMA, entry.to_record()))  # fmt: skip
        self.producer.flush()

    def callbacks(self, rng: random.Random) -> None:
        """Every status of every message, a half more repeated, all shuffled."""
        posts = [(n, s) for n, outcome in self.final.items() for s in HISTORIES[outcome]]
        posts += rng.choices(posts, k=len(posts) // 2)
        rng.shuffle(posts)
        for n, status in posts:
            event = TwilioMessageStatus(
                message_sid=sid(n), account_sid=ACCOUNT, status=status,
                error_code=30003 if status in ("failed", "undelivered") else None,
                received_at=datetime.now(UTC),
            )  # fmt: skip
            self.producer.send(self.options.status_topic.name, key=event.key,
                               value=SERDE.encode(event.SCHEMA, event.to_record()))  # fmt: skip
        self.producer.flush()

    def newest(self, topic: TopicSpec) -> dict[str, dict[str, Any]]:
        found = read_newest(self.kafka, topic.name, client=f"it-read-{self.unique}",
                            partitions=range(6))  # fmt: skip
        return {k: SERDE.decode(r.value)[1] for k, r in found.items() if r.value is not None}

    def ledger(self) -> dict[int, dict[str, Any]]:
        return {int(k[4:]): v for k, v in self.newest(self.options.sms_ledger_topic).items()}

    def states(self) -> dict[str, TwilioMessageState]:
        found = self.newest(self.options.status_state_topic)
        return {k: TwilioMessageState.from_record(v) for k, v in found.items()}

    def applied(self, numbers: list[int]) -> bool:
        """Every message has its state, and these messages their final status in the ledger."""
        ledger = self.ledger()
        return len(self.states()) == len(self.final) and all(
            n in ledger and ledger[n]["message_status"] == self.final[n] for n in numbers
        )

    async def run_sink(self, step: Callable[[], object], until_done: Callable[[], bool]) -> None:
        app = build(self.kafka, self.options)
        running = asyncio.create_task(app.run())
        try:
            await asyncio.to_thread(step)
            await until("the statuses applied", until_done)
        finally:
            app.stop()
            await asyncio.wait_for(running, 60)


def test_statuses_reach_the_ledger_in_any_order_and_wait_for_sids_across_a_restart(
    kafka_bootstrap: str, unique: str
) -> None:
    rng = random.Random(7)
    final = {n: rng.choice(list(HISTORIES)) for n in range(MESSAGES)}
    rig = Rig(KafkaSettings(bootstrap_servers=kafka_bootstrap), unique, final)
    early, late = list(range(0, MESSAGES, 2)), list(range(1, MESSAGES, 2))

    async def scenario() -> None:
        await rig.run_sink(
            lambda: (rig.done(early), rig.callbacks(rng)), lambda: rig.applied(early)
        )
        assert not set(late) & set(rig.ledger()), "the late SIDs are not in the ledger yet"
        # A new sink; the late SIDs show up: their statuses were kept through the restart.
        await rig.run_sink(lambda: rig.done(late), lambda: rig.applied(list(final)))

    try:
        asyncio.run(scenario())
    finally:
        rig.producer.close()

    ledger, states = rig.ledger(), rig.states()
    assert {n: entry["message_status"] for n, entry in ledger.items()} == final
    for n, outcome in final.items():
        assert states[sid(n)].status == outcome
        assert sorted(states[sid(n)].seen) == sorted(HISTORIES[outcome]), "each status once"
        if outcome in ("failed", "undelivered"):
            assert ledger[n]["error_code"] == 30003
