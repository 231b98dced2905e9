"""The twilio-sink's status applier on this test's topics, run by its composition root,
and what the sink would have written to its SMS ledger (DONE entries with their SIDs).

Shared by the applier's integration test and the callback storm.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from chassis.kafka.producer import EventProducer
from chassis.kafka.state import read_newest
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from events.twilio_deliveries import TwilioChannel, TwilioDelivery, TwilioDeliveryStatus
from events.twilio_status import TwilioMessageState
from twilio_sink.credentials import CredentialSource
from twilio_sink.delivery import SmsSender
from twilio_sink.inject import SinkOptions, build

SERDE = AvroSerde(SchemaCatalog.load())
ACCOUNT = "AC" + "0" * 32
WAIT_SECONDS = 90.0


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


class StatusRig:
    """The sink's options on this test's topics, and what the sink and Twilio would write."""

    def __init__(
        self,
        kafka: KafkaSettings,
        unique: str,
        final: dict[int, str],
        *,
        status_topic: TopicSpec | None = None,
    ) -> None:
        """`final`: message n (SID `sid(n)`, command `cmd-n`) -> its most advanced status."""
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
            status_topic=status_topic or TopicSpec(f"it.{unique}.twilio.message-status.v1", 6),
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
