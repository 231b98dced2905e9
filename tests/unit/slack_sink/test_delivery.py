"""SlackDelivery against a MockTransport Slack and a ledger on an in-memory producer.

What matters is "at most once": a DONE command is never posted, a PENDING one (the sink died
mid-post) is looked for in Slack first, also when it was part of a digest, and a rejected
token holds the command instead of failing it.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from chassis.audit import AuditTrail
from chassis.kafka.handling import handling
from chassis.kafka.producer import Delivery
from chassis.kafka.record import Held, Record
from chassis.serde import AvroSerde, SchemaCatalog
from events import PostSlackMessage
from events.deliveries import DeliveryStatus, SinkDelivery
from events.slack import OnChange
from slack_client.errors import SlackRateLimited
from slack_sink.credentials import WorkspaceCredentials
from slack_sink.delivery import SlackDelivery
from slack_sink.ledger import Ledger

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())


class Producer:
    """What the ledger needs of an EventProducer: a send whose delivery is confirmed at once,
    kept in memory."""

    def __init__(self) -> None:
        self.sent: list[SinkDelivery] = []

    def send(self, topic: str, *, key: str, value: bytes | None, partition: int) -> Delivery:
        assert value is not None, "nothing expires in these tests"
        self.sent.append(SinkDelivery.from_record(SERDE.decode(value)[1]))
        delivered: Delivery = Future()
        delivered.set_result(None)
        return delivered


class Slack:
    """Reads only by channel id (C42), as Slack does; `replies` is the thread of 1699.000001."""

    def __init__(
        self,
        history: list[dict[str, Any]] | None = None,
        error: str | None = None,
        *,
        replies: list[dict[str, Any]] | None = None,
        rate_limited_posts: int = 0,
    ):
        self.history = history or []
        self.replies = replies or []
        self.error = error
        self.rate_limited_posts = rate_limited_posts
        self.posts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.reads: list[tuple[str, dict[str, str]]] = []
        self.gone: set[str] = set()
        """ts of messages someone deleted: chat.update gets message_not_found."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[1]
        if self.error:
            return httpx.Response(200, json={"ok": False, "error": self.error})
        if method == "chat.update":
            body = json.loads(request.content)
            if body["ts"] in self.gone:
                return httpx.Response(200, json={"ok": False, "error": "message_not_found"})
            self.updates.append(body)
            answer = {"ok": True, "channel": body["channel"], "ts": body["ts"], "text": ""}
            return httpx.Response(200, json={**answer, "message": {}})
        if method != "chat.postMessage":
            params = dict(request.url.params)
            self.reads.append((method, params))
            if method == "conversations.list":
                channels = [{"id": "C42", "name": "ap"}, {"id": "C43", "name": "ar"}]
                return httpx.Response(200, json={"ok": True, "channels": channels})
            if params.get("channel") != "C42":
                return httpx.Response(200, json={"ok": False, "error": "channel_not_found"})
            if method == "conversations.history":
                return httpx.Response(200, json={"ok": True, "messages": self.history})
            assert method == "conversations.replies"
            return httpx.Response(200, json={"ok": True, "messages": self.replies})
        if self.rate_limited_posts:
            self.rate_limited_posts -= 1
            return httpx.Response(
                429, json={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"}
            )
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


class Handled:
    """Calls the delivery as the runner does: in the context of the records it handles."""

    def __init__(self, delivery: SlackDelivery) -> None:
        self._delivery = delivery

    async def __call__(self, record: Record) -> None:
        with handling([record]):
            await self._delivery(record)

    async def digest(self, records: list[Record]) -> None:
        with handling(records):
            await self._delivery.digest(records)


def _sink(slack: Slack) -> tuple[Handled, Ledger, Producer]:
    producer = Producer()
    ledger = Ledger(sink="slack-sink", topic="ledger", producer=producer, serde=SERDE)  # type: ignore[arg-type]
    http = httpx.AsyncClient(
        base_url="https://slack.test/api", transport=httpx.MockTransport(slack)
    )
    credentials = WorkspaceCredentials(
        http=http, tokens={"default": SecretStr("xoxb-t")}, vault_names={}
    )
    audit = AuditTrail(service="slack-sink", serde=SERDE, publish=lambda key, value: None)
    delivery = SlackDelivery(credentials=credentials, ledger=ledger, audit=audit)
    return Handled(delivery), ledger, producer


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
    with handling([_record(commands[0], 0)]):
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
    assert [(e.status, e.not_posted) for e in producer.sent] == [
        (DeliveryStatus.PENDING, False),
        (DeliveryStatus.PENDING, True),  # Slack refused it: nothing was posted
    ]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(held.value.released(), timeout=0.05)


def _metadata(command_id: str) -> dict[str, Any]:
    return {"event_type": "mlc_command", "event_payload": {"command_id": command_id}}


@pytest.mark.anyio
async def test_an_interrupted_post_is_looked_for_by_channel_id_from_shortly_before_pending() -> (
    None
):
    slack = Slack(history=[{"ts": "1700000000.000100", "metadata": _metadata("cmd-7")}])
    delivery, ledger, producer = _sink(slack)
    await delivery(_record(_command(1), 0))  # the sink learns that #ap is C42
    with handling([_record(_command(7), 0)]):
        await ledger.pending([_command(7)], digest=False)  # then died mid-post
    pending_at = ledger.get("cmd-7").at  # type: ignore[union-attr]

    await delivery(_record(_command(7), 1))

    assert len(slack.posts) == 1  # cmd-1 only: cmd-7 was found, not posted again
    [(method, params)] = slack.reads
    assert method == "conversations.history"
    assert params["channel"] == "C42"
    assert float(params["oldest"]) == pytest.approx(pending_at.timestamp() - 300, abs=1e-3)
    assert ledger.get("cmd-7").ts == "1700000000.000100"  # type: ignore[union-attr]
    assert producer.sent[-1].channel_id == "C42"


@pytest.mark.anyio
async def test_an_interrupted_first_post_resolves_the_channel_name_to_its_id() -> None:
    slack = Slack(history=[{"ts": "1700000000.000100", "metadata": _metadata("cmd-7")}])
    delivery, ledger, _ = _sink(slack)
    with handling([_record(_command(7), 0)]):
        await ledger.pending([_command(7)], digest=False)  # no post has told us #ap's id yet

    await delivery(_record(_command(7), 0))

    assert slack.posts == []
    assert [m for m, _ in slack.reads] == ["conversations.list", "conversations.history"]
    assert slack.reads[1][1]["channel"] == "C42"
    assert ledger.is_done("cmd-7")


@pytest.mark.anyio
async def test_an_interrupted_thread_reply_is_found_with_conversations_replies() -> None:
    reply = _command(8).model_copy(update={"thread_ts": "1699.000001"})
    thread = [
        {"ts": "1699.000001"},  # the parent comes first
        {"ts": "1700000000.000200", "thread_ts": "1699.000001", "metadata": _metadata("cmd-8")},
    ]
    slack = Slack(replies=thread)
    delivery, ledger, _ = _sink(slack)
    await delivery(_record(_command(1), 0))
    with handling([_record(reply, 0)]):
        await ledger.pending([reply], digest=False)

    await delivery(_record(reply, 1))

    assert len(slack.posts) == 1
    [(method, params)] = slack.reads
    assert (method, params["channel"], params["ts"]) == (
        "conversations.replies",
        "C42",
        "1699.000001",
    )
    assert ledger.get("cmd-8").ts == "1700000000.000200"  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_429_records_that_nothing_was_posted_so_the_retry_posts_without_a_lookup() -> None:
    slack = Slack(rate_limited_posts=1)
    delivery, ledger, producer = _sink(slack)

    with pytest.raises(SlackRateLimited):
        await delivery(_record(_command(1), 0))
    assert ledger.get("cmd-1").not_posted  # type: ignore[union-attr]

    await delivery(_record(_command(1), 0))  # the runner's retry

    assert slack.reads == []  # no history lookup: Slack said nothing was posted
    assert len(slack.posts) == 1
    assert [(e.status, e.not_posted) for e in producer.sent] == [
        (DeliveryStatus.PENDING, False),
        (DeliveryStatus.PENDING, True),
        (DeliveryStatus.PENDING, False),  # the retry is guarded like any attempt
        (DeliveryStatus.DONE, False),
    ]


@pytest.mark.anyio
async def test_a_429_on_a_digest_marks_every_command_in_it_not_posted() -> None:
    slack = Slack(rate_limited_posts=1)
    delivery, ledger, _ = _sink(slack)
    commands = [_command(n) for n in range(3)]

    with pytest.raises(SlackRateLimited):
        await delivery.digest([_record(c, i) for i, c in enumerate(commands)])
    await delivery.digest([_record(c, i) for i, c in enumerate(commands)])

    assert slack.reads == []
    [post] = slack.posts
    assert post["metadata"]["event_payload"] == {"command_ids": ["cmd-0", "cmd-1", "cmd-2"]}
    assert all(ledger.is_done(c.command_id) for c in commands)


def _version(n: int, version: int, on_change: OnChange = OnChange.UPDATE) -> PostSlackMessage:
    """Version `version` of invoice `n`: a new source event, so a new command id."""
    return _command(n).model_copy(
        update={"command_id": f"cmd-{n}-v{version}", "source_event_id": f"e-{n}-v{version}",
                "text": f"invoice {n} v{version}", "on_change": on_change}
    )  # fmt: skip


@pytest.mark.anyio
async def test_a_later_version_of_a_document_updates_its_message_in_place() -> None:
    slack = Slack()
    delivery, ledger, producer = _sink(slack)
    await delivery(_record(_version(1, 1), 0))
    [first] = slack.posts

    await delivery(_record(_version(1, 2), 1))
    await delivery(_record(_version(1, 3), 2))

    assert len(slack.posts) == 1  # one message per document per channel
    assert [(u["channel"], u["ts"], u["text"]) for u in slack.updates] == [
        ("C42", "1700000000.000001", "invoice 1 v2"),
        ("C42", "1700000000.000001", "invoice 1 v3"),
    ]
    # The message stands for every version it has shown, so a lookup or a count finds each.
    assert slack.updates[-1]["metadata"]["event_payload"] == {
        "command_ids": ["cmd-1-v1", "cmd-1-v2", "cmd-1-v3"]
    }
    assert first["text"] == "invoice 1 v1"
    assert ledger.get("cmd-1-v3").ts == "1700000000.000001"  # type: ignore[union-attr]
    # The approvals' copy of the ledger still maps the message to the document.
    assert {e.entity_id for e in producer.sent if e.ts == "1700000000.000001"} == {
        "t1/c1/supplierInvoice/1"
    }
    await delivery(_record(_version(2, 1), 3))  # another document: its own message
    assert len(slack.posts) == 2


@pytest.mark.anyio
async def test_a_rule_asking_for_a_new_post_on_change_replies_in_the_documents_thread() -> None:
    slack = Slack()
    delivery, ledger, _ = _sink(slack)
    await delivery(_record(_version(1, 1), 0))

    await delivery(_record(_version(1, 2, OnChange.THREAD), 1))
    await delivery(_record(_version(1, 3), 2))  # an update still finds the document's message

    assert [p.get("thread_ts") for p in slack.posts] == [None, "1700000000.000001"]
    assert ledger.get("cmd-1-v2").thread_ts == "1700000000.000001"  # type: ignore[union-attr]
    assert [u["ts"] for u in slack.updates] == ["1700000000.000001"]


@pytest.mark.anyio
async def test_post_mode_and_digests_always_post_and_a_deleted_message_gets_a_new_post() -> None:
    slack = Slack()
    delivery, _, _ = _sink(slack)
    await delivery(_record(_version(1, 1), 0))
    await delivery(_record(_version(1, 2, OnChange.POST), 1))  # e.g. a reminder
    assert len(slack.posts) == 2
    assert slack.updates == []

    slack.gone.add("1700000000.000001")  # someone deleted the document's message
    await delivery(_record(_version(1, 3), 2))
    assert len(slack.posts) == 3
    assert slack.posts[-1]["text"] == "invoice 1 v3"


@pytest.mark.anyio
async def test_a_later_version_queued_with_others_is_updated_not_digested() -> None:
    slack = Slack()
    delivery, _, _ = _sink(slack)
    await delivery(_record(_version(1, 1), 0))
    queued = [_version(1, 2), _command(5), _command(6)]

    await delivery.digest([_record(c, i + 1) for i, c in enumerate(queued)])

    assert [u["text"] for u in slack.updates] == ["invoice 1 v2"]
    assert slack.posts[-1]["metadata"]["event_payload"] == {"command_ids": ["cmd-5", "cmd-6"]}


def _confirmation(n: int, thread_ts: str) -> PostSlackMessage:
    """The Visma writer's reply in the thread of invoice `n`'s message, naming its approver."""
    return _command(n).model_copy(
        update={"command_id": f"reply-{n}", "thread_ts": thread_ts,
                "text": f"Approved by <@U-ANN>: invoice {n} released in Visma.",
                "approved_by": "U-ANN"}
    )  # fmt: skip


@pytest.mark.anyio
async def test_an_approvals_confirmation_shows_the_approver_on_the_documents_message() -> None:
    slack = Slack()
    delivery, ledger, _ = _sink(slack)
    await delivery(_record(_version(1, 1), 0))
    ts = "1700000000.000001"
    slack.history = [{"ts": ts, "text": "invoice 1 v1", "metadata": {
        "event_type": "mlc_command", "event_payload": {"command_id": "cmd-1-v1"}}}]  # fmt: skip

    await delivery(_record(_confirmation(1, ts), 1))
    await delivery(_record(_confirmation(1, ts), 1))  # redelivered: already DONE, skipped

    # Read as Slack shows it now (one message, at that ts), then updated in place once.
    [(method, params)] = slack.reads
    assert method == "conversations.history"
    assert {k: params[k] for k in ("channel", "latest", "oldest", "inclusive", "limit")} == {
        "channel": "C42",
        "latest": ts,
        "oldest": ts,
        "inclusive": "true",
        "limit": "1",
    }
    [update] = slack.updates
    assert (update["channel"], update["ts"]) == ("C42", ts)
    assert update["text"] == "invoice 1 v1\nApproved by <@U-ANN>"
    assert update["blocks"][-1]["elements"][0]["text"] == "Approved by <@U-ANN>"
    assert update["metadata"]["event_payload"] == {"command_id": "cmd-1-v1"}
    assert [p.get("thread_ts") for p in slack.posts] == [None, ts]  # the reply, once
    assert ledger.get("reply-1").approved_by == "U-ANN"  # type: ignore[union-attr]

    await delivery(_record(_version(1, 2), 2))  # the released version keeps the line
    latest = slack.updates[-1]
    assert latest["text"] == "invoice 1 v2\nApproved by <@U-ANN>"
    assert [b.get("block_id") for b in latest["blocks"]].count("mlc-approved-by") == 1
    assert len(slack.posts) == 2


@pytest.mark.anyio
async def test_a_confirmation_in_a_thread_that_is_no_documents_leaves_that_message_alone() -> None:
    slack = Slack()
    delivery, _, _ = _sink(slack)
    await delivery(_record(_confirmation(1, "1699999999.000001"), 0))
    assert slack.updates == []
    assert "conversations.history" not in [method for method, _ in slack.reads]
    assert [p.get("thread_ts") for p in slack.posts] == ["1699999999.000001"]
