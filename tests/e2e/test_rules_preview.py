"""`mlc rules preview` on the demo's history: a raised threshold shows exactly the messages
that would no longer be sent, per channel, and nothing reaches any sink or external system.

The history is a test-sized run of the demo's notification part, built the way `mlc demo`
builds it (`FlowStack` on a fresh topic prefix of the shared broker): the sandbox's seeded
companies, the visma-poller, the processor with the demo's rules file plus the demo's SMS
rule (`mlc.demo_twilio.twilio_rules`: invoices from 50,000 SEK to two phones), the
slack-sink and the twilio-sink. Once every message is out, the services are stopped and the
preview reads that history. The expected differences are computed here from the sandbox's
invoices and the two thresholds, not by the preview's routing.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.kafka.window import read_since
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from mlc.demo_twilio import AP_MANAGER, SUPERVISOR, twilio_rules
from mlc.rules_preview import run
from mlc.stack import DEFAULT_RULES, FlowStack
from processor.rules import load_rules
from tests.e2e.conftest import wait_for_posts
from tests.e2e.twilio_alerts import sent_sms, wait_until

pytestmark = pytest.mark.e2e

SMS_FROM = Decimal(50000)
"""The demo's SMS rule: supplier invoices from 50,000 SEK."""
SLACK_LARGE_FROM = Decimal(50000)
"""The demo's `large-invoices` rule (#ap-large) in SEK."""
RAISED = Decimal(150000)


def test_raising_a_threshold_previews_exactly_the_messages_no_longer_sent(
    make_stack: Callable[..., FlowStack],
    kafka_bootstrap: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.monotonic()
    since = datetime.now(UTC)
    rules = _demo_rules(tmp_path / "running.yaml")
    stack = make_stack(invoices=10, rules=rules, poll_interval=2.0)
    stack.start_sandbox()
    invoices = stack.get("/visma/_sandbox/invoices")
    sek = [i for i in invoices if i["currencyId"] == "SEK"]
    sms_dropped = _refs(i for i in sek if SMS_FROM <= _amount(i) < RAISED)
    large_dropped = _refs(i for i in sek if SLACK_LARGE_FROM <= _amount(i) < RAISED)
    assert sms_dropped, "the seed must give the raised threshold work"
    assert large_dropped
    assert _refs(i for i in sek if _amount(i) >= RAISED), "and leave some above it"
    expected = stack.expected(load_rules(rules))
    sms_count = 2 * len(_refs(i for i in sek if _amount(i) >= SMS_FROM))
    stack.start_services(("visma-poller", "processor", "slack-sink", "twilio-sink"))
    wait_for_posts(stack, set(expected.commands), timeout=120)
    wait_until(lambda: len(sent_sms(stack)) >= sms_count, timeout=120, stack=stack, what="SMS")
    _stop_services(stack)  # a clean stop: every sink's audit records are on the broker
    history_ready = time.monotonic()

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    ends = _end_offsets(kafka_bootstrap, stack.topics.prefix)
    calls = _sandbox_calls(stack)
    preview_start = datetime.now(UTC)

    unchanged = _preview(rules, stack, since)
    assert unchanged["differences"] == [], "the running rules preview as what they sent"
    assert {(t["kind"], t["target"]): t["sent"] for t in unchanged["targets"]} == {
        ("slack", "#ap-large"): _count(expected.commands.values(), "ap-large"),
        ("slack", "#ap-approvals"): _count(expected.commands.values(), "ap-approvals"),
        ("SMS", AP_MANAGER): sms_count // 2,
        ("SMS", SUPERVISOR): sms_count // 2,
    }

    sms_preview = _preview(
        _raised(rules, "large-invoices-sms", tmp_path / "sms.yaml"), stack, since
    )
    assert sms_preview["events_judged"] == len(invoices) + _suppliers(stack)
    removed = _removed_by_target(sms_preview)
    assert removed == {("SMS", AP_MANAGER): sms_dropped, ("SMS", SUPERVISOR): sms_dropped}
    assert [m for m in sms_preview["messages"] if m["change"] == "+"] == []
    counts = {(t["kind"], t["target"]): t for t in sms_preview["targets"]}
    for phone in (AP_MANAGER, SUPERVISOR):
        assert counts[("SMS", phone)]["sent"] == sms_count // 2, "what the running rules sent"
        assert counts[("SMS", phone)]["would_send"] == sms_count // 2 - len(sms_dropped)
    for channel in ("#ap-large", "#ap-approvals"):
        assert counts[("slack", channel)]["added"] == counts[("slack", channel)]["removed"] == 0
    assert sms_preview["differences"] == [
        f"-{len(sms_dropped)} SMS to {AP_MANAGER}",
        f"-{len(sms_dropped)} SMS to {SUPERVISOR}",
    ]

    text = io.StringIO()
    raised_slack = _raised(rules, "large-invoices", tmp_path / "slack.yaml")
    assert _run(raised_slack, stack, since, out=text, details=True) == 0
    lines = text.getvalue().splitlines()
    assert f"differences: -{len(large_dropped)} to #ap-large" in lines
    detailed = [line for line in lines if line.startswith("  - #ap-large")]
    assert sorted(_ref_of(line.split()[2]) for line in detailed) == sorted(large_dropped)
    assert "nothing was sent and nothing was written" in lines

    assert _end_offsets(kafka_bootstrap, stack.topics.prefix) == ends, "no topic written"
    assert _sandbox_calls(stack) == calls, "no call reached any system"
    assert _audited_since(kafka_bootstrap, preview_start, stack, since) == 0, "nothing audited"
    took = time.monotonic() - history_ready
    print(
        f"history of {len(invoices)} invoices in {history_ready - started:.1f} s; "
        f"three previews and the checks in {took:.1f} s"
    )


def _count(channels: Any, channel: str) -> int:
    return sum(1 for name in channels if name == channel)


def _demo_rules(path: Path) -> Path:
    """The demo's rules file with its SMS rule (not its daily email digest) appended."""
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["rules"] = [*data["rules"], twilio_rules(datetime.now(UTC))[0]]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _raised(rules: Path, rule: str, out: Path) -> Path:
    data = yaml.safe_load(rules.read_text(encoding="utf-8"))
    for entry in data["rules"]:
        if entry["name"] == rule:
            entry["when"]["min_amount"]["SEK"] = int(RAISED)
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def _amount(invoice: dict[str, Any]) -> Decimal:
    return Decimal(str(invoice["amount"]))


def _refs(invoices: Any) -> set[str]:
    return {f"{i['company']}:{i['referenceNumber']}" for i in invoices}


def _ref_of(entity: str) -> str:
    """`tenant/company/supplierInvoice/Invoice:10042` -> `company:10042`."""
    _, company, _, entity_id = entity.split("/")
    return f"{company}:{entity_id.rpartition(':')[2]}"


def _removed_by_target(preview: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for m in preview["messages"]:
        if m["change"] == "-":
            found.setdefault((m["kind"], m["target"]), set()).add(_ref_of(m["entity"]))
    return found


def _run(rules: Path, stack: FlowStack, since: datetime, *, out: io.StringIO, **opts: Any) -> int:
    args = argparse.Namespace(
        file=rules, since=since.isoformat(), tenant=None, topic_prefix=stack.topics.prefix,
        details=False, json=False,
    )  # fmt: skip
    for name, value in opts.items():
        setattr(args, name, value)
    return run(args, out=out)


def _preview(rules: Path, stack: FlowStack, since: datetime) -> dict[str, Any]:
    out = io.StringIO()
    assert _run(rules, stack, since, out=out, json=True) == 0
    found: dict[str, Any] = json.loads(out.getvalue())
    return found


def _suppliers(stack: FlowStack) -> int:
    """The seeded suppliers the poller also publishes (reference data, judged by rules too)."""
    return sum(
        len(stack.get(f"/visma/_sandbox/entities/supplier?company={company}"))
        for company in {i["company"] for i in stack.get("/visma/_sandbox/invoices")}
    )


def _stop_services(stack: FlowStack) -> None:
    services = [child for name, child in stack.children.items() if name != "sandbox"]
    for child in services:
        child.terminate()
    for child in services:
        child.stop()


def _end_offsets(kafka: str, prefix: str) -> dict[tuple[str, int], int]:
    settings = KafkaSettings(bootstrap_servers=kafka)
    admin = AdminClient(settings.client_config("preview-check"))
    topics = admin.list_topics(timeout=30).topics
    consumer = Consumer(settings.client_config("preview-check") | {"group.id": "preview-check"})
    try:
        return {
            (name, p): consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1]
            for name, meta in topics.items()
            if name.startswith(prefix)
            for p in meta.partitions
        }
    finally:
        consumer.close()


def _sandbox_calls(stack: FlowStack) -> dict[str, Any]:
    """What each system recorded: its counters and what it holds."""
    return {
        "visma": stack.get("/visma/_sandbox/stats"),
        "slack": stack.get("/slack/_sandbox/stats"),
        "slack_messages": stack.posted(),
        "sms": [m["sid"] for m in sent_sms(stack)],
        "emails": stack.get("/sendgrid/_sandbox/emails"),
    }


def _audited_since(kafka: str, start: datetime, stack: FlowStack, since: datetime) -> int:
    """Audit records written since `start` about this run's commands or events (the audit
    topic is shared by every run on the broker, so it is searched for this run's ids)."""
    serde = AvroSerde(SchemaCatalog.load())
    settings = KafkaSettings(bootstrap_servers=kafka)
    prefix = stack.topics.prefix
    commands = [f"{prefix}sink.slack.v1", f"{prefix}sink.twilio-sms.v1"]
    ids: set[str] = set()
    for record in read_since(settings, commands, since_ms=_ms(since), client="preview-check"):
        command = serde.decode(record.value or b"")[1]
        ids |= {command["command_id"], command["source_event_id"]}
    assert ids, "the run's commands are on its topics"
    count = 0
    for record in read_since(settings, ["audit.v1"], since_ms=_ms(start), client="preview-check"):
        audit = serde.decode(record.value or b"")[1]
        count += audit.get("command_id") in ids or audit.get("event_id") in ids
    return count


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)
