"""1,000 SMS alerts to 200 recipients through the twilio-sink, against a Twilio sandbox with
a concurrency limit of 5 and 10% of sends failing (5% answered 500, 5% handled but answered
too late for the client: a timeout after Twilio created the message).

Each alert must reach its recipient exactly once, no 20429 may be left unhandled (none in
the DLQ, none FAILED), the sink must keep the account's five slots busy (the rate achieved
at least 90% of what the limit allows at the calls' own durations), and every SID must be
in the ledger and in the audit trail, with its final status (delivered, undelivered or
failed) from Twilio's signed status callbacks through the ingress.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from chassis.settings import KafkaSettings
from events.twilio_deliveries import TwilioDeliveryStatus
from events.twilio_status import is_final
from mlc.audit import read_audit
from mlc.stack import FlowStack, free_port
from sandbox.twilio.config import DEMO_ACCOUNT_SID
from tests.e2e.test_slack_sink_interrupted import _dead_lettered
from tests.e2e.twilio_alerts import ledger, metrics, produce, recipients, sent_sms, sms, wait_until

pytestmark = pytest.mark.e2e

LIMIT = 5
LATENCY = 0.05
"""Real seconds each API call holds one of the account's slots in the sandbox."""
ALERTS_PER_RECIPIENT = 5


def test_a_thousand_alerts_to_two_hundred_recipients_each_once_at_the_concurrency_limit(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    stack = make_stack(
        invoices=0,
        twilio_sink_args=("--account-cap", str(LIMIT), "--request-timeout", "1.0"),
    )
    stack.start_sandbox()
    admin = httpx.Client(base_url=f"{stack.base_url}/twilio/_sandbox", timeout=30)
    admin.patch(f"/accounts/{DEMO_ACCOUNT_SID}", json={"concurrency_limit": LIMIT})
    # One message in ten ends undelivered or failed at the carrier, after it was sent.
    admin.patch(
        "/settings", json={"api_latency_seconds": LATENCY, "failure_rate": 0.1}
    ).raise_for_status()
    for fault in (
        {"status": 500, "probability": 0.05},
        {"delay_after_seconds": 3.0, "probability": 0.05},  # created, answered after 1 s
    ):
        admin.post(
            "/faults", json={**fault, "times": None, "method": "POST", "path_prefix": "/2010"}
        ).raise_for_status()
    each = range(ALERTS_PER_RECIPIENT)
    alerts = [sms(to, n, run=stack.run_id) for n in each for to in recipients(200)]
    produce(kafka_bootstrap, stack.topics.twilio_sms, alerts)
    # Status callbacks go to the ingress, which verifies them and hands them to the sink.
    stack.ingress_port = free_port()
    stack.start("ingress").wait_for_log("listening", timeout=60)
    health = free_port()
    monkeypatch.setenv("MLC_HEALTH_PORT", str(health))  # the sink's, for its metrics
    stack.start("twilio-sink")

    bodies = {a.body for a in alerts}
    wait_until(
        lambda: {m["body"] for m in sent_sms(stack)} >= bodies,
        timeout=120, stack=stack, what="1,000 alerts", every=1.0,
    )  # fmt: skip
    entries: dict[str, object] = {}

    def all_done() -> bool:
        entries.update(ledger(kafka_bootstrap, stack.topics.twilio_sms_ledger))
        return sum(
            getattr(entries.get(a.command_id), "status", None) is TwilioDeliveryStatus.DONE
            for a in alerts
        ) == len(alerts)

    wait_until(all_done, timeout=60, stack=stack, what="every DONE entry")
    sink = metrics(health, account=DEMO_ACCOUNT_SID)

    # Exactly once: each alert once, so no recipient got one twice.
    messages = sent_sms(stack)
    assert Counter(m["body"] for m in messages) == Counter(bodies)
    per_recipient = Counter(m["to"] for m in messages)
    assert set(per_recipient.values()) == {ALERTS_PER_RECIPIENT}
    # No 20429 left unhandled: nothing dead-lettered, nothing FAILED.
    group = f"run-{stack.run_id}-twilio-sink"
    assert _dead_lettered(kafka_bootstrap, f"dlq.{group}.v1") == 0
    stats = admin.get("/stats").json()
    faults = admin.get("/faults/fired").json()
    # Every SID in the ledger (DONE with the sandbox's SID for its body) and the audit.
    sid_of_body = {m["body"]: m["sid"] for m in messages}
    done = {a.command_id: entries[a.command_id] for a in alerts}
    assert all(
        getattr(done[a.command_id], "external_id", None) == sid_of_body[a.body] for a in alerts
    )
    # Every final status in the ledger (the sandbox ends each message a few seconds later
    # and POSTs its signed callbacks) and in the audit trail, with every SID.
    final: dict[str, str] = {}

    def all_final() -> bool:
        entries.update(ledger(kafka_bootstrap, stack.topics.twilio_sms_ledger))
        final.update({m["sid"]: m["status"] for m in sent_sms(stack)})
        return all(
            is_final(final[sid_of_body[a.body]])
            and getattr(entries[a.command_id], "message_status", None) == final[sid_of_body[a.body]]
            for a in alerts
        )

    wait_until(all_final, timeout=90, stack=stack, what="every final status in the ledger")
    wanted = {a.command_id: sid_of_body[a.body] for a in alerts}
    audit = [
        e for e in read_audit(KafkaSettings(bootstrap_servers=kafka_bootstrap))
        if e["command_id"] in wanted or e["external_id"] in final
    ]  # fmt: skip
    audited = {
        e["command_id"]: e["external_id"]
        for e in audit
        if e["stage"] == "sent" and e["command_id"] in wanted
    }
    assert audited == wanted
    statuses = {
        (e["external_id"], e["detail"].split()[2])
        for e in audit
        if (e["detail"] or "").startswith("twilio status ")
    }
    assert all((sid, status) in statuses for sid, status in final.items())

    # The rate: the limit allows LIMIT calls at once, each as long as calls took (timeouts
    # included); the sink achieved its calls over the span from its first call to its last.
    calls, busy = sink["mlc_twilio_calls_total"], sink["mlc_twilio_call_seconds_total"]
    span = sink["mlc_twilio_last_call_ended"] - sink["mlc_twilio_first_call_started"]
    allowed = LIMIT / (busy / calls)
    achieved = calls / span
    print(
        f"\n{len(alerts)} alerts, {int(calls)} calls in {span:.1f} s: achieved "
        f"{achieved:.1f} calls/s ({len(alerts) / span:.1f} alerts/s); the limit of {LIMIT} "
        f"allows {allowed:.1f} calls/s at {busy / calls * 1000:.0f} ms per call "
        f"({LIMIT / LATENCY:.0f}/s at the bare {LATENCY * 1000:.0f} ms): "
        f"{achieved / allowed:.1%}; 20429 answered {stats['throttled']} (all retried), "
        f"faults fired {faults}; final statuses {dict(Counter(final.values()))} in the "
        f"ledger and the audit; test took {time.monotonic() - started:.0f} s"
    )
    assert achieved >= 0.9 * allowed


def test_a_sink_capped_above_the_accounts_limit_waits_out_every_20429(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    """Configured above the account's limit (10 against 5), the sink gets 20429s: each is
    waited out by that recipient's key and sent again, none lost, none sent twice."""
    started = time.monotonic()
    stack = make_stack(invoices=0, twilio_sink_args=("--account-cap", "10"))
    stack.start_sandbox()
    admin = httpx.Client(base_url=f"{stack.base_url}/twilio/_sandbox", timeout=30)
    admin.patch(f"/accounts/{DEMO_ACCOUNT_SID}", json={"concurrency_limit": LIMIT})
    admin.patch("/settings", json={"api_latency_seconds": LATENCY}).raise_for_status()
    alerts = [sms(to, n, run=stack.run_id) for n in range(5) for to in recipients(40)]
    produce(kafka_bootstrap, stack.topics.twilio_sms, alerts)
    stack.start("twilio-sink")

    bodies = {a.body for a in alerts}
    wait_until(
        lambda: {m["body"] for m in sent_sms(stack)} >= bodies,
        timeout=90, stack=stack, what="200 alerts",
    )  # fmt: skip
    entries = ledger(kafka_bootstrap, stack.topics.twilio_sms_ledger)
    time.sleep(1.0)  # a late repeat would show now

    assert Counter(m["body"] for m in sent_sms(stack)) == Counter(bodies)
    throttled = admin.get("/stats").json()["throttled"]
    assert throttled > 0
    assert not [e for e in entries.values() if e.status is TwilioDeliveryStatus.FAILED]
    group = f"run-{stack.run_id}-twilio-sink"
    assert _dead_lettered(kafka_bootstrap, f"dlq.{group}.v1") == 0
    print(
        f"\n{len(alerts)} alerts, cap 10 over a limit of {LIMIT}: {throttled} answered 20429, "
        f"all waited out; test took {time.monotonic() - started:.0f} s"
    )
