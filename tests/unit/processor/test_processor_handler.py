"""The handler with in-memory fakes: dedupe, send-before-remember, dead letters, audit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from chassis.audit import AuditTrail
from chassis.serde import AvroSerde
from events import PostSlackMessage, SupplierInvoiceChanged
from processor.handler import Headers, InvoiceHandler, Outcome, Record
from processor.routing import route
from processor.rules import RuleSet

pytestmark = pytest.mark.unit

MakeEvent = Callable[..., SupplierInvoiceChanged]


class FakeTopic:
    """Records what was sent; sending and the broker's acknowledgement are two steps, as in
    faust, and the acknowledgement can be told to fail like an unreachable broker."""

    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[tuple[bytes, bytes, Headers]] = []
        self.acked = 0
        self.fail = fail
        self.on_ack: Callable[[], None] = lambda: None

    async def send(self, key: bytes, value: bytes, headers: Headers) -> Awaitable[object]:
        self.sent.append((key, value, headers))

        async def delivered() -> object:
            self.on_ack()
            if self.fail:
                raise ConnectionError("broker unreachable")
            self.acked += 1
            return None

        return delivered()


class Harness:
    def __init__(self, rules: RuleSet, serde: AvroSerde) -> None:
        self.serde = serde
        self.seen: dict[str, int] = {}
        self.commands, self.dlq, self.audit_topic = FakeTopic(), FakeTopic(), FakeTopic()

        async def publish(key: str, value: bytes) -> object:
            return await (await self.audit_topic.send(key.encode(), value, []))

        self.handler = InvoiceHandler(
            rules=rules, serde=serde, seen=self.seen,
            send_command=lambda command, value, headers: self.commands.send(
                command.key.encode(), value, headers),
            send_dead_letter=self.dlq.send,
            audit=AuditTrail(service="processor", serde=serde, publish=publish),
        )  # fmt: skip

    def handle(self, value: bytes, *, headers: dict[str, bytes] | None = None) -> Outcome:
        record = Record(key=b"k", value=value, headers=headers or {}, topic="in",
                        partition=2, offset=41)  # fmt: skip
        return asyncio.run(self.handler.handle(record))

    def encode(self, event: SupplierInvoiceChanged) -> bytes:
        return self.serde.encode(event.SCHEMA, event.to_record())

    def audit(self) -> list[dict[str, Any]]:
        return [self.serde.decode(value)[1] for _, value, _ in self.audit_topic.sent]

    def sent_commands(self) -> list[PostSlackMessage]:
        return [PostSlackMessage.from_record(self.serde.decode(v)[1]) for _, v, _ in
                self.commands.sent]  # fmt: skip


@pytest.fixture
def h(rules: RuleSet, serde: AvroSerde) -> Harness:
    return Harness(rules, serde)


def test_routes_sends_and_remembers(h: Harness, make: MakeEvent) -> None:
    event = make()
    assert h.handle(h.encode(event), headers={"correlation-id": b"cid-1"}) is Outcome.ROUTED
    commands = h.sent_commands()
    assert [c.channel for c in commands] == ["ap-large", "ap-approvals"]
    assert [k for k, _, _ in h.commands.sent] == [b"default/ap-large", b"default/ap-approvals"]
    assert all(hd == [("correlation-id", b"cid-1")] for _, _, hd in h.commands.sent)
    assert h.seen == {event.key: int(event.last_modified.timestamp() * 1000)}
    audit = h.audit()
    assert [a["stage"] for a in audit] == ["routed", "routed"]
    assert [a["command_id"] for a in audit] == [c.command_id for c in commands]
    assert {(a["entity_id"], a["event_id"], a["correlation_id"]) for a in audit} == {
        (event.key, event.event_id, "cid-1")
    }


def test_same_or_older_version_is_a_skipped_duplicate(h: Harness, make: MakeEvent) -> None:
    event = make()
    h.handle(h.encode(event))
    older = make(last_modified=event.last_modified - timedelta(seconds=1))
    assert h.handle(h.encode(event)) is Outcome.DUPLICATE
    assert h.handle(h.encode(older)) is Outcome.DUPLICATE
    assert len(h.commands.sent) == 2
    assert [a["stage"] for a in h.audit()][2:] == ["skipped", "skipped"]
    newer = make(last_modified=event.last_modified + timedelta(milliseconds=1))
    assert h.handle(h.encode(newer)) is Outcome.ROUTED
    assert len(h.commands.sent) == 4


def test_table_moves_only_after_every_send(h: Harness, make: MakeEvent) -> None:
    seen_at_ack: list[dict[str, int]] = []
    h.commands.on_ack = lambda: seen_at_ack.append(dict(h.seen))
    h.handle(h.encode(make()))
    assert seen_at_ack == [{}, {}]
    assert h.commands.acked == 2


def test_failed_send_leaves_table_untouched_and_raises(h: Harness, make: MakeEvent) -> None:
    h.commands.fail = True
    with pytest.raises(ConnectionError):
        h.handle(h.encode(make()))
    assert h.seen == {}
    assert h.audit_topic.sent == []


def test_unmatched_event_is_remembered_and_audited(h: Harness, make: MakeEvent) -> None:
    event = make(currency="USD")
    assert h.handle(h.encode(event)) is Outcome.UNMATCHED
    assert h.commands.sent == []
    assert event.key in h.seen
    assert [(a["stage"], a["detail"]) for a in h.audit()] == [("skipped", "no rule matched")]


@pytest.mark.parametrize(
    "value",
    [b"garbage", b"\x05\x00\x00\x00\x01rest", b""],
    ids=["not-wire-format", "wrong-magic-byte", "empty"],
)
def test_poison_goes_to_dlq_once_with_reason(h: Harness, value: bytes) -> None:
    assert h.handle(value, headers={"correlation-id": b"c"}) is Outcome.DEAD_LETTERED
    [(key, dead, headers)] = h.dlq.sent
    assert (key, dead) == (b"k", value)
    named = dict(headers)
    assert named["dlq-topic"] == b"in"
    assert (named["dlq-partition"], named["dlq-offset"]) == (b"2", b"41")
    assert named["dlq-reason"]
    assert named["correlation-id"] == b"c"
    assert [a["stage"] for a in h.audit()] == ["dead_lettered"]
    assert h.commands.sent == []


def test_a_command_on_the_input_topic_is_poison(
    h: Harness, make: MakeEvent, rules: RuleSet
) -> None:
    command = route(make(), rules)[0]
    value = h.serde.encode(PostSlackMessage.SCHEMA, command.to_record())
    assert h.handle(value) is Outcome.DEAD_LETTERED
    assert b"unexpected schema" in dict(h.dlq.sent[0][2])["dlq-reason"]


def test_a_batch_sends_everything_before_the_table_moves_and_drops_in_batch_repeats(
    h: Harness, make: MakeEvent
) -> None:
    first = make()
    newer = make(last_modified=first.last_modified + timedelta(seconds=5))
    records = [
        Record(key=b"k", value=h.encode(e), headers={}, topic="in", partition=0, offset=n)
        for n, e in enumerate([first, first, newer])
    ]
    seen_at_ack: list[dict[str, int]] = []
    h.commands.on_ack = lambda: seen_at_ack.append(dict(h.seen))
    outcomes = asyncio.run(h.handler.handle_batch(records))
    assert outcomes == [Outcome.ROUTED, Outcome.DUPLICATE, Outcome.ROUTED]
    assert len(h.commands.sent) == 4  # two rules match each of the two versions
    assert seen_at_ack == [{}] * 4
    assert h.seen == {first.key: int(newer.last_modified.timestamp() * 1000)}
