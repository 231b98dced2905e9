"""`mlc replay twilio-sink` on delivered SMS and email alerts, the sink as a process.

The sandbox's own counters measure the side effects: messages Twilio created, emails
SendGrid accepted. 500 delivered commands (400 SMS, 100 emails): a dry run lists 500 skips
and creates nothing; resend-missing then a restarted sink creates nothing; force on 3 ids
sends exactly those 3 again, audited with the operator; a reset with Kafka's own
kafka-consumer-groups then a restarted sink creates nothing more. 20 deleted ledger entries
(16 SMS, 4 emails): the replay stops on the emails and changes nothing; forced for the
emails, it finds the 16 SMS in Twilio's message list (none sent again) and sends the 4
emails again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from chassis.audit import AUDIT_TOPIC
from events.commands import SendEmail, SendSms
from mlc.stack import FlowStack
from tests.e2e.replay_kit import (
    audit_since,
    committed,
    end_offsets,
    kafka_tool_reset,
    partitions_of,
    replay,
    stop,
    tombstone,
    wait_caught_up,
)
from tests.e2e.twilio_alerts import email, ledger, produce, recipients, sent_emails, sms

pytestmark = pytest.mark.e2e


def _created(stack: FlowStack) -> int:
    created: int = stack.get("/twilio/_sandbox/stats")["created"]
    return created


def _deliver(
    stack: FlowStack, kafka: str, *, sms_count: int, email_count: int
) -> tuple[list[SendSms], list[SendEmail], str]:
    """Alerts produced and delivered by the sink, which is then stopped; returns them and a
    time just before they were written."""
    stack.start_sandbox()
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    numbers = recipients(sms_count // 4)
    texts = [sms(to, n, run=stack.run_id) for n in range(4) for to in numbers]
    mails = [email(n, run=stack.run_id) for n in range(email_count)]
    produce(kafka, stack.topics.twilio_sms, texts)
    produce(kafka, stack.topics.twilio_email, mails)
    stack.start("twilio-sink")
    topics = [stack.topics.twilio_sms, stack.topics.twilio_email]
    wait_caught_up(stack, kafka, _group(stack), topics, timeout=90)
    stop(stack, "twilio-sink", kafka, _group(stack))
    assert _created(stack) == len(texts)
    assert len(sent_emails(stack)) == len(mails)
    return texts, mails, since


def _group(stack: FlowStack) -> str:
    return f"run-{stack.run_id}-twilio-sink"


def test_replay_of_500_delivered_alerts_repeats_nothing_and_forces_exactly_three(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    began = time.monotonic()
    stack = make_stack(invoices=0)
    texts, mails, since = _deliver(stack, kafka_bootstrap, sms_count=400, email_count=100)
    group, topics = _group(stack), [stack.topics.twilio_sms, stack.topics.twilio_email]
    delivered = time.monotonic()

    offsets = committed(kafka_bootstrap, group, topics[0])
    dry = replay(stack, "twilio-sink", "--from", since, "--mode", "dry-run")
    assert dry.code == 0, dry.err
    skips = [line for line in dry.lines if "skip: done as" in line]
    assert len(skips) == 500
    assert "500 commands in the window of twilio-sink" in dry.out
    assert (_created(stack), len(sent_emails(stack))) == (400, 100)
    assert committed(kafka_bootstrap, group, topics[0]) == offsets

    resend = replay(stack, "twilio-sink", "--from", since)
    assert resend.code == 0, resend.err
    assert sum(committed(kafka_bootstrap, group, topics[0]).values()) == 0
    stack.start("twilio-sink")
    wait_caught_up(stack, kafka_bootstrap, group, topics, timeout=60)
    stop(stack, "twilio-sink", kafka_bootstrap, group)
    assert (_created(stack), len(sent_emails(stack))) == (400, 100)

    forced = [texts[3], texts[333], mails[42]]
    audit_start = end_offsets(kafka_bootstrap, AUDIT_TOPIC.name)
    keys = [arg for c in forced for arg in ("--key", c.command_id)]
    force = replay(
        stack, "twilio-sink", "--from", since, "--mode", "force", *keys, "--yes",
        "--operator", "olle.replay",
    )  # fmt: skip
    assert force.code == 0, force.err
    stack.start("twilio-sink")
    wait_caught_up(stack, kafka_bootstrap, group, topics, timeout=60)
    assert (_created(stack), len(sent_emails(stack))) == (402, 101)
    again = Counter(m["to"] for m in stack.get("/twilio/_sandbox/messages"))
    assert {to for to, n in again.items() if n == 5} == {texts[3].to, texts[333].to}
    audited = [
        e for e in audit_since(kafka_bootstrap, audit_start)
        if e["stage"] == "retried" and "forced by olle.replay" in (e["detail"] or "")
    ]  # fmt: skip
    assert sorted(e["command_id"] for e in audited) == sorted(c.command_id for c in forced)
    stop(stack, "twilio-sink", kafka_bootstrap, group)

    # Kafka's own tool, the documented path, over the same 500: the ledger alone repeats none.
    kafka_tool_reset(kafka_bootstrap, group, topics, to=datetime.fromisoformat(since))
    assert sum(committed(kafka_bootstrap, group, topics[0]).values()) == 0
    stack.start("twilio-sink")
    wait_caught_up(stack, kafka_bootstrap, group, topics, timeout=60)
    assert (_created(stack), len(sent_emails(stack))) == (402, 101)
    print(f"delivered 500 in {delivered - began:.1f} s; test {time.monotonic() - began:.1f} s")


def test_twenty_deleted_ledger_entries_sms_found_in_twilio_emails_stop_the_replay(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    stack = make_stack(invoices=0)
    texts, mails, since = _deliver(stack, kafka_bootstrap, sms_count=40, email_count=10)
    group, topics = _group(stack), [stack.topics.twilio_sms, stack.topics.twilio_email]
    entries = ledger(kafka_bootstrap, stack.topics.twilio_sms_ledger)
    sids = {c.command_id: entries[c.command_id].external_id for c in texts[:16]}
    partitions = partitions_of(
        kafka_bootstrap, [stack.topics.twilio_sms, stack.topics.twilio_email]
    )
    tombstone(kafka_bootstrap, stack.topics.twilio_sms_ledger,
              [(c.command_id, partitions[c.command_id]) for c in texts[:16]])  # fmt: skip
    tombstone(kafka_bootstrap, stack.topics.twilio_email_ledger,
              [(c.command_id, partitions[c.command_id]) for c in mails[:4]])  # fmt: skip
    offsets = committed(kafka_bootstrap, group, topics[0])

    # Emails among the deleted: the replay stops, names them, and changes nothing.
    stopped = replay(stack, "twilio-sink", "--from", since)
    assert stopped.code == 1, stopped.err
    named = [line for line in stopped.lines if line.startswith("stopped: ")]
    assert sorted(line.split()[1] for line in named) == sorted(c.command_id for c in mails[:4])
    assert "SendGrid cannot be searched" in named[0]
    assert committed(kafka_bootstrap, group, topics[0]) == offsets
    assert set(ledger(kafka_bootstrap, stack.topics.twilio_sms_ledger)).isdisjoint(sids)

    # Forced for the 4 emails: the 16 SMS are found by Twilio's list, the 4 emails go again.
    keys = [arg for c in mails[:4] for arg in ("--key", c.command_id)]
    forced = replay(stack, "twilio-sink", "--from", since, "--mode", "force", *keys, "--yes")
    assert forced.code == 0, forced.err
    found = [line for line in forced.lines if "-> found as" in line]
    assert len(found) == 16
    after = ledger(kafka_bootstrap, stack.topics.twilio_sms_ledger)
    assert {c: after[c].external_id for c in sids} == sids  # the very messages sent before
    stack.start("twilio-sink")
    wait_caught_up(stack, kafka_bootstrap, group, topics, timeout=60)
    assert _created(stack) == 40
    emailed = Counter(e["custom_args"]["mlc_command_id"] for e in sent_emails(stack))
    assert {r for r, n in emailed.items() if n == 2} == {c.command_id for c in mails[:4]}
    stop(stack, "twilio-sink", kafka_bootstrap, group)

    # Kafka's own tool, the documented path: the ledger alone prevents every repeat.
    kafka_tool_reset(kafka_bootstrap, group, topics, to=datetime.fromisoformat(since))
    assert sum(committed(kafka_bootstrap, group, topics[0]).values()) == 0
    stack.start("twilio-sink")
    wait_caught_up(stack, kafka_bootstrap, group, topics, timeout=60)
    assert (_created(stack), len(sent_emails(stack))) == (40, 14)
    print("of the 20 deleted entries: 16 SMS found in Twilio's list and recorded done, 0 sent "
          "again; 4 emails stopped the replay, then forced: sent again once each")  # fmt: skip
