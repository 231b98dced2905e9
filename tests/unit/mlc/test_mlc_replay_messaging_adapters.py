"""The Slack and Twilio sinks' replay adapters without a broker or a system: their group and
topics from the sink's own options (with a run's prefix and a group override), what each
ledger entry means, and which commands can be looked for (an email cannot)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events import PostSlackMessage
from events.commands import SendEmail, SendSms
from events.deliveries import DeliveryStatus, SinkDelivery
from events.twilio_deliveries import TwilioChannel, TwilioDelivery, TwilioDeliveryStatus
from mlc.replay_contract import CommandLedgerTopic, EntryState, ReplayContext, sink_parser
from mlc.replay_slack import SlackReplay
from mlc.replay_twilio import UNSEARCHABLE, TwilioReplay

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TWILIO = ["--account-sid", "AC" + "0" * 32, "--from", "+46700000000", "--email-from", "a@b.se"]


def _context(sink: str, argv: list[str], **more: Any) -> ReplayContext:
    producer = cast(EventProducer, object())  # kept for record_found; nothing here writes
    return ReplayContext(
        settings=KafkaSettings(bootstrap_servers="127.0.0.1:9"), serde=SERDE,
        producer=producer, sink_args=sink_parser(sink).parse_args(argv), **more,
    )  # fmt: skip


def _record(topic: str, command: Any) -> Record:
    record = Record(topic, 2, 7, command.key, b"", [], timestamp_ms=None)
    record.schema, record.value = command.SCHEMA, command.to_record()
    return record


def test_slack_topics_come_from_the_sink_options_with_the_run_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    plain = SlackReplay(_context("slack-sink", []))
    assert plain.group_id == "mlc-slack-sink"
    assert plain.topics == (CommandLedgerTopic("sink.slack.v1", "state.slack-ledger.v2"),)
    run = SlackReplay(_context("slack-sink", ["--ledger-topic", "mine.v1"], prefix="run.3f.",
                               group_id="run-3f-sink"))  # fmt: skip
    assert run.group_id == "run-3f-sink"
    # The prefix goes on a topic left at its default; a topic the options name stays as named.
    assert run.topics == (CommandLedgerTopic("run.3f.sink.slack.v1", "mine.v1"),)


def test_slack_ledger_entries_and_every_command_searchable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    adapter = SlackReplay(_context("slack-sink", []))
    entry = SinkDelivery(
        command_id="c1", sink="slack-sink", status=DeliveryStatus.DONE,
        destination="default/ap", at=NOW, channel_id="C0123456", ts="17.1",
    )  # fmt: skip
    topic = adapter.topics[0]
    done = adapter.ledger_state(topic, entry.to_record())
    assert (done.state, done.external_id) == (EntryState.DONE, "17.1")
    pending = entry.model_copy(update={"status": DeliveryStatus.PENDING, "ts": None})
    assert adapter.ledger_state(topic, pending.to_record()).state is EntryState.PENDING
    refused = pending.model_copy(update={"not_posted": True})
    assert adapter.ledger_state(topic, refused.to_record()).state is EntryState.RETRY
    post = PostSlackMessage(
        command_id="c2", tenant_id="t", workspace="default", channel="ap", text="x", rule="r",
        source_event_id="e", created_at=NOW, entity_type="supplierInvoice", entity_id="t/c/i/1",
    )  # fmt: skip
    assert adapter.searchable(adapter.decode(_record(topic.commands, post))) is None


def test_twilio_sms_is_searchable_an_email_is_not_and_email_joins_only_with_sendgrid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    sms_only = TwilioReplay(_context("twilio-sink", TWILIO))
    assert [t.commands for t in sms_only.topics] == ["sink.twilio-sms.v1"]
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.key")
    adapter = TwilioReplay(_context("twilio-sink", TWILIO, prefix="run.9."))
    sms_topic, email_topic = adapter.topics
    assert (sms_topic.ledger, email_topic.commands) == (
        "run.9.state.twilio-sms-ledger.v1", "run.9.sink.twilio-email.v1")  # fmt: skip
    common = {"tenant_id": "t", "rule": "r", "source_event_id": "e", "created_at": NOW,
              "entity_type": "supplierInvoice", "entity_id": "t/c/supplierInvoice/1"}  # fmt: skip
    text = SendSms(command_id="s1", to="+46701234567", body="hi", **common)
    mail = SendEmail(command_id="m1", to=["a@b.se"], subject="s", body="b", **common)
    assert adapter.searchable(adapter.decode(_record(sms_topic.commands, text))) is None
    assert adapter.searchable(adapter.decode(_record(email_topic.commands, mail))) == UNSEARCHABLE
    entry = TwilioDelivery(command_id="s1", channel=TwilioChannel.SMS,
                           status=TwilioDeliveryStatus.PENDING, to="+46701234567", at=NOW,
                           attempts=1)  # fmt: skip
    assert adapter.ledger_state(sms_topic, entry.to_record()).state is EntryState.PENDING
    refused = entry.model_copy(update={"not_sent": True, "attempts": 0})
    assert adapter.ledger_state(sms_topic, refused.to_record()).state is EntryState.RETRY
    failed = entry.model_copy(update={"status": TwilioDeliveryStatus.FAILED, "error_code": 21211})
    assert adapter.ledger_state(sms_topic, failed.to_record()).detail == (
        "failed for good earlier (Twilio 21211)")  # fmt: skip
