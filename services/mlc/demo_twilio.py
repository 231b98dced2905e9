"""The Twilio part of `mlc demo`: seed 001's example, SMS and a daily email of payments.

An SMS goes to the AP manager and the supervisor for every supplier invoice over 50,000 SEK;
the supervisor's phone is unreachable (the sandbox ends its messages `undelivered` with
carrier error 30003), so one recipient fails and the summary shows it with its error. Every
delivery status arrives through Twilio's signed status callbacks, checked by the ingress
and stored on Kafka; the summary reads them from there. The Swedish company's payments are
collected into one email of the day, sent at a time a minute into the run (the digest's
`daily_at`), to the finance team: one email, its plain text and its Slack-styled HTML.
The rules are the demo's rules file with these two appended (written to the run's folder).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from chassis.kafka.state import StateLoadError, iter_to_end, read_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.commands import SendSms
from events.twilio_deliveries import TwilioDelivery, TwilioDeliveryStatus
from events.twilio_status import TwilioMessageStatus, advances, is_final
from mlc.stack import FlowStack
from processor.routing import route_all
from processor.rules import RuleSet
from visma_client.models import SupplierInvoiceDto
from visma_poller.mapping import supplier_invoice_event

AP_MANAGER = "+46701110001"
SUPERVISOR = "+46701110002"
UNREACHABLE = 30003
"""Twilio's carrier error for an unreachable handset: the supervisor's phone is off."""
FINANCE = "ekonomi@tenant-se-1.example"
DIGEST_AFTER = timedelta(seconds=60)
"""The day's payments email goes out this long after the run starts."""
SCHEDULE_CHECK_SECONDS = "2"


def twilio_rules(digest_at: datetime) -> list[dict[str, Any]]:
    """Seed 001's rules: large invoices by SMS, the day's SEK payments by email at `digest_at`."""
    return [
        {
            "name": "large-invoices-sms",
            "when": {"entity_type": "supplierInvoice", "min_amount": {"SEK": 50000}},
            "targets": [{"sms": {"to": [AP_MANAGER, SUPERVISOR], "max_segments": 1}}],
        },
        {
            "name": "daily-payments-email",
            "when": {"entity_type": "supplierPayment", "min_amount": {"SEK": 0}},
            "targets": [
                {
                    "email": {"to": [FINANCE]},
                    "digest": {
                        "daily_at": digest_at.astimezone(UTC).strftime("%H:%M:%S"),
                        "timezone": "UTC",
                        "subject": "Payments of {{ day }}: {{ count }}",
                    },
                }
            ],
        },
    ]


def rules_with_twilio(base: Path, out: Path, *, digest_at: datetime) -> Path:
    """The demo's rules file with the Twilio rules appended, written to `out`."""
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    data["rules"] = [*data["rules"], *twilio_rules(digest_at)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def prepare(stack: FlowStack) -> None:
    """The supervisor's phone is unreachable: Twilio accepts, the carrier gives up."""
    httpx.post(
        f"{stack.base_url}/twilio/_sandbox/numbers/outcomes",
        json={"number": SUPERVISOR, "code": UNREACHABLE},
        timeout=10,
    ).raise_for_status()


def expected_sms(stack: FlowStack, rules: RuleSet) -> dict[str, SendSms]:
    """The SMS the rules call for, from the sandbox's invoices: command id -> command."""
    found: dict[str, SendSms] = {}
    for raw in stack.get("/visma/_sandbox/invoices"):
        event = supplier_invoice_event(
            SupplierInvoiceDto.model_validate(raw), tenant_id=raw["company"],
            company_id=raw["company"], observed_at=datetime.now(UTC),
        )  # fmt: skip
        for command in route_all(event, rules):
            if isinstance(command, SendSms):
                found[command.command_id] = command
    return found


@dataclass
class TwilioOutcome:
    ledger: dict[str, TwilioDelivery]
    """SMS command id -> its ledger entry."""
    statuses: dict[str, TwilioMessageStatus]
    """Message SID -> its most advanced status from the signed callbacks."""
    emails: list[dict[str, Any]]

    def final(self, command_id: str) -> str | None:
        entry = self.ledger.get(command_id)
        if entry is None or entry.status is TwilioDeliveryStatus.PENDING:
            return None
        if entry.status is TwilioDeliveryStatus.FAILED:
            return "failed"
        found = self.statuses.get(entry.external_id or "")
        return found.status if found is not None and is_final(found.status) else None


def read_outcome(stack: FlowStack) -> TwilioOutcome:
    settings, serde = KafkaSettings(), AvroSerde(SchemaCatalog.load())
    client = f"run-{stack.run_id}-twilio-check"
    t = stack.topics
    try:
        ledger = {
            key: TwilioDelivery.from_record(serde.decode(value)[1])
            for key, value in read_to_end(settings, t.twilio_sms_ledger, client=client).items()
        }
    except StateLoadError:
        ledger = {}  # the sink has not made its ledger yet
    statuses: dict[str, TwilioMessageStatus] = {}
    try:
        for _, value in iter_to_end(settings, t.twilio_statuses, client=client):
            status = TwilioMessageStatus.from_record(serde.decode(value)[1])
            known = statuses.get(status.message_sid)
            if advances(known.status if known else None, status.status):
                statuses[status.message_sid] = status
    except StateLoadError:
        pass  # no callback yet: the ingress makes the topic with the first one
    emails = [e for e in stack.get("/sendgrid/_sandbox/emails") if FINANCE in e["to"]]
    return TwilioOutcome(ledger, statuses, emails)


def check_twilio(stack: FlowStack, rules: RuleSet, *, deadline: float) -> bool:
    """Waits for every SMS's final status and the payments email; prints the figures."""
    expected = expected_sms(stack, rules)
    while True:
        stack.check_alive()
        outcome = read_outcome(stack)
        finals = {cid: outcome.final(cid) for cid in expected}
        if (all(finals.values()) and outcome.emails) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    time.sleep(2.0)  # a repeat, if there were one, would show by now
    outcome = read_outcome(stack)
    return _twilio_summary(stack, expected, outcome)


def _twilio_summary(stack: FlowStack, expected: dict[str, SendSms], outcome: TwilioOutcome) -> bool:
    finals = {cid: outcome.final(cid) for cid in expected}
    counts = Counter(status or "no final status" for status in finals.values())
    sids = {cid: entry.external_id for cid, entry in outcome.ledger.items() if entry.external_id}
    sent = sum(1 for cid in expected if cid in sids)
    messages = stack.get("/twilio/_sandbox/messages")
    twice = sum(n - 1 for n in Counter((m["to"], m["body"]) for m in messages).values() if n > 1)
    failed = [expected[c] for c, status in finals.items() if status in ("undelivered", "failed")]
    recipients = len({c.to for c in expected.values()})
    print(f"Twilio SMS to send         : {len(expected)} (invoices over 50,000 SEK, "
          f"{recipients} recipients)")  # fmt: skip
    print(f"SMS sent                   : {sent} (each with its Twilio SID in the ledger)")
    print(f"SMS delivered              : {counts['delivered']} (from signed status callbacks)")
    print(f"SMS failed                 : {len(failed)}")
    for line in _reasons(failed, outcome):
        print(f"  {line}")
    emails = outcome.emails
    parts = [str(c.get("type")) for c in emails[0]["content"]] if emails else []
    about = f": '{emails[0]['subject']}', {' + '.join(parts)}" if emails else ""
    print(f"emails sent                : {len(emails)} (the day's payments to {FINANCE}{about})")
    ok = (
        bool(expected) and sent == len(expected) and twice == 0 and len(emails) == 1
        and counts["delivered"] + len(failed) == len(expected)
        and {c.to for c in failed} == {SUPERVISOR} and "text/html" in parts
    )  # fmt: skip
    verdict = "OK: each SMS sent once with a final status, the failing recipient shown, one email"
    problems = f"FAILED: statuses {dict(counts)}, {twice} sent twice, {len(emails)} emails"
    print(f"check                      : {verdict if ok else problems}")
    return ok


def _reasons(failed: list[SendSms], outcome: TwilioOutcome) -> list[str]:
    """Each failing recipient with each error Twilio reported for it, and how often."""
    seen: Counter[tuple[str, str]] = Counter()
    for command in failed:
        entry = outcome.ledger[command.command_id]
        status = outcome.statuses.get(entry.external_id or "")
        code = status.error_code if status else entry.error_code
        text = (status.error_message if status else entry.error_message) or ""
        name = status.status if status else "failed"
        seen[(command.to, f"{name}, error {code}" + (f" {text}" if text else ""))] += 1
    return [f"{to:25}  {n} x {reason}" for (to, reason), n in sorted(seen.items())]
