"""SlackDelivery against a MockTransport Slack and a ledger on an in-memory producer.

What matters is "at most once": a DONE command is never posted, a PENDING one (the sink died
mid-post) is looked for in Slack first, also when it was part of a digest, and a rejected
token holds the command instead of failing it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from chassis.audit import AuditTrail
from chassis.kafka.record import Held, Record
from chassis.serde import AvroSerde, SchemaCatalog
from events import PostSlackMessage
from events.deliveries import DeliveryStatus, SinkDelivery
from slack_sink.credentials import WorkspaceCredentials
from slack_sink.delivery import SlackDelivery
from slack_sink.ledger import Ledger

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())


class Producer:
    """What the ledger needs of an EventProducer: send and flush, kept in memory."""

    def __init__(self) -> None:
        self.sent: list[SinkDelivery] = []

    def send(self, topic: str, *, key: str, value: bytes) -> None:
        self.sent.append(SinkDelivery.from_record(SERDE.decode(value)[1]))

    def flush(self) -> None:
        pass


class Slack:
    def __init__(self, history: list[dict[str, Any]] | None = None, error: str | None = None):
        self.history = history or []
        self.error = error
        self.posts: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[1]
        if self.error:
            return httpx.Response(200, json={"ok": False, "error": self.error})
        if method == "conversations.history":
            return httpx.Response(200, json={"ok": True, "messages": self.history})
        assert method == "chat.postMessage"
        self.posts.append(json.loads(request.content))
        ts = f"1700000000.{len(self.posts):06d}"
        return httpx.Response(200, json={"ok": True, "channel": "C42", "ts": ts})


def _command(n: int) -> PostSlackMessage:
    return PostSlackMessage(
        command_id=f"cmd-{n}", tenant_id="t1", workspace="default", channel="ap",
        text=f"invoice {n}", rule="r", source_event_id=f"e-{n}", entity_type="supplierInvoice",
        entity_id=f"t1/c1/supplierInvoice/{n}", created_at=datetime(2026, 3, 1, tzinfo=UTC),
        company_id="c1",
    )  # fmt: skip


def _record(command: PostSlackMessage, offset: int) -> Record:
    return Record(
        topic="t", partition=0, offset=offset, key=command.key, raw=b"", headers=[],
        schema=command.SCHEMA, value=command.to_record(),
    )  # fmt: skip


def _sink(slack: Slack) -> tuple[SlackDelivery, Ledger, Producer]:
    producer = Producer()
    ledger = Ledger(sink="slack-sink", topic="ledger", producer=producer, serde=SERDE)  # type: ignore[arg-type]
    http = httpx.AsyncClient(
        base_url="https://slack.test/api", transport=httpx.MockTransport(slack)
    )
    credentials = WorkspaceCredentials(
        http=http, tokens={"default": SecretStr("xoxb-t")}, vault_names={}
    )
    audit = AuditTrail(service="slack-sink", serde=SERDE, publish=lambda key, value: None)
    return SlackDelivery(credentials=credentials, ledger=ledger, audit=audit), ledger, producer


@pytest.mark.anyio
async def test_a_digest_writes_pending_then_done_with_channel_id_ts_and_the_digest_flag() -> None:
    slack = Slack()
    delivery, _, producer = _sink(slack)
    commands = [_command(n) for n in range(3)]

    await delivery.digest([_record(c, i) for i, c in enumerate(commands)])

    [post] = slack.posts
    assert post["metadata"]["event_payload"] == {"command_ids": ["cmd-0", "cmd-1", "cmd-2"]}
    assert [(e.command_id, e.status) for e in producer.sent] == [
        *((f"cmd-{n}", DeliveryStatus.PENDING) for n in range(3)),
        *((f"cmd-{n}", DeliveryStatus.DONE) for n in range(3)),
    ]
    done = producer.sent[3:]
    assert {(e.channel_id, e.ts, e.digest, e.company_id) for e in done} == {
        ("C42", "1700000000.000001", True, "c1")
    }
    # Redelivered: nothing is posted again.
    await delivery.digest([_record(c, i) for i, c in enumerate(commands)])
    assert len(slack.posts) == 1


@pytest.mark.anyio
async def test_an_interrupted_digest_is_found_in_slack_and_only_the_rest_is_posted() -> None:
    found = {"ts": "1699.000100", "metadata": {"event_type": "mlc_command",
             "event_payload": {"command_ids": ["cmd-0", "cmd-1", "cmd-2"]}}}  # fmt: skip
    slack = Slack(history=[found])
    delivery, ledger, producer = _sink(slack)
    commands = [_command(n) for n in range(4)]
    await ledger.pending(commands[:3], digest=True)  # the sink died after these
    producer.sent.clear()

    await delivery.digest([_record(c, i) for i, c in enumerate(commands)])

    [post] = slack.posts  # only cmd-3, alone
    assert post["metadata"]["event_payload"] == {"command_id": "cmd-3"}
    recovered = {e.command_id: e for e in producer.sent if e.status is DeliveryStatus.DONE}
    assert {recovered[f"cmd-{n}"].ts for n in range(3)} == {"1699.000100"}
    assert all(recovered[f"cmd-{n}"].digest for n in range(3))
    assert recovered["cmd-3"].digest is False


@pytest.mark.anyio
async def test_a_revoked_token_holds_the_command_with_nothing_marked_done() -> None:
    slack = Slack(error="token_revoked")
    delivery, ledger, producer = _sink(slack)

    with pytest.raises(Held) as held:
        await delivery(_record(_command(1), 0))

    assert not ledger.is_done("cmd-1")
    assert [e.status for e in producer.sent] == [DeliveryStatus.PENDING]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(held.value.released(), timeout=0.05)
