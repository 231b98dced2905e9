"""A permanent failure and the operator's resend, end to end on the real broker (issue 11).

Alerts to numbers the Twilio sandbox refuses for good, as Twilio does for its test numbers
(+15005550001: 21211 invalid 'To'; +15005550004: 21610 unsubscribed), go through the
twilio-sink: each is FAILED in the ledger with Twilio's code, in the audit trail with the
code and message, and not retried. `mlc twilio resend ID --to NUMBER` then delivers the first
to a corrected number once (run twice, still once), both alerts show in `mlc audit`, and a
resend of an alert that was delivered is refused.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from chassis.settings import KafkaSettings
from events.twilio_deliveries import TwilioDelivery, TwilioDeliveryStatus
from mlc.audit import chain_for, read_audit
from mlc.stack import FlowStack
from mlc.twilio_resend import Topics, resend_command
from tests.e2e.twilio_alerts import ledger, produce, sent_sms, sms, wait_until
from twilio_sink.resend import resend_id

pytestmark = pytest.mark.e2e

INVALID, UNSUBSCRIBED = "+15005550001", "+15005550004"
CORRECTED = "+46701550999"
GOOD = "+46701550001"


def test_a_permanent_failure_is_audited_not_retried_and_resent_once_to_a_corrected_number(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    started = time.monotonic()
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    admin = httpx.Client(base_url=f"{stack.base_url}/twilio/_sandbox", timeout=30)
    # Ids of this run's own (run=): the audit topic is shared by every run on the broker.
    invalid, unsubscribed, good = (
        sms(to, n, run=stack.run_id) for n, to in enumerate((INVALID, UNSUBSCRIBED, GOOD))
    )
    produce(kafka_bootstrap, stack.topics.twilio_sms, [invalid, unsubscribed, good])
    stack.start("twilio-sink")
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    t = stack.topics
    topics = Topics(sms=t.twilio_sms, email=t.twilio_email, sms_ledger=t.twilio_sms_ledger,
                    email_ledger=t.twilio_email_ledger)  # fmt: skip
    entries: dict[str, TwilioDelivery] = {}

    def settled(*ids: str) -> Callable[[], bool]:
        def check() -> bool:
            entries.update(ledger(kafka_bootstrap, t.twilio_sms_ledger))
            return all(
                i in entries and entries[i].status is not TwilioDeliveryStatus.PENDING for i in ids
            )

        return check

    wait_until(settled(invalid.command_id, unsubscribed.command_id, good.command_id),
               timeout=60, stack=stack, what="the three alerts handled")  # fmt: skip
    wait_until(lambda: [m["status"] for m in sent_sms(stack)] == ["delivered"], timeout=60,
               stack=stack, what="the good alert delivered")  # fmt: skip

    # Each refusal: FAILED with Twilio's code, audited with code and message, not retried.
    for command, code, message in (
        (invalid, 21211, "Invalid 'To' Phone Number"),
        (unsubscribed, 21610, "Attempt to send to unsubscribed recipient"),
    ):
        entry = entries[command.command_id]
        assert (entry.status, entry.error_code) == (TwilioDeliveryStatus.FAILED, code)
        audit = [e for e in read_audit(settings) if e["command_id"] == command.command_id]
        failed = [e for e in audit if e["stage"] == "failed"]
        assert len(failed) == 1
        assert f"Twilio {code}: " in failed[0]["detail"]
        assert message in failed[0]["detail"]
        assert "retried" not in {e["stage"] for e in audit}

    # A resend of the delivered alert is refused.
    out = io.StringIO()
    assert resend_command(settings, good.command_id, to=None, force=False, topics=topics,
                          out=out) == 1  # fmt: skip
    # Delivered, or still 'queued'/'sent' in the ledger if no status callback reached it.
    assert "not resent: " in out.getvalue()
    assert ", SM" in out.getvalue()

    # The operator resends the invalid one to the corrected number, twice by mistake.
    # As the operator types it (the mlc command line, in a process of its own), then again.
    argv = [sys.executable, "-m", "mlc.cli", "twilio", "resend", invalid.command_id,
            "--to", CORRECTED, "--sms-topic", t.twilio_sms, "--email-topic", t.twilio_email,
            "--sms-ledger-topic", t.twilio_sms_ledger,
            "--email-ledger-topic", t.twilio_email_ledger]  # fmt: skip
    env = os.environ | {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    typed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert typed.returncode == 0, typed.stdout + typed.stderr
    resent_id = resend_id(invalid.command_id, CORRECTED)
    assert f"resent {invalid.command_id} as {resent_id} to {CORRECTED}" in typed.stdout
    wait_until(settled(resent_id), timeout=60, stack=stack, what="the resend handled")
    out = io.StringIO()
    code = resend_command(settings, invalid.command_id, to=CORRECTED, force=False, topics=topics,
                          out=out)  # fmt: skip
    assert code == 0, out.getvalue()
    assert "already resent as" in out.getvalue()
    assert entries[resent_id].status is TwilioDeliveryStatus.DONE
    wait_until(lambda: Counter(m["to"] for m in sent_sms(stack))[CORRECTED] == 1, timeout=30,
               stack=stack, what="the corrected number's SMS")  # fmt: skip
    [delivered] = [m for m in sent_sms(stack) if m["to"] == CORRECTED]
    assert delivered["body"] == invalid.body
    assert entries[resent_id].external_id == delivered["sid"]

    # Both in `mlc audit` of either id; the refusals were each tried once.
    events = read_audit(settings)
    for wanted in (invalid.command_id, resent_id):
        chain = chain_for(events, wanted)
        stages = {(e["command_id"], e["stage"]) for e in chain}
        assert (invalid.command_id, "failed") in stages
        assert (resent_id, "routed") in stages
        assert (resent_id, "sent") in stages
    routed = [e for e in events if e["command_id"] == resent_id and e["stage"] == "routed"]
    assert routed[0]["detail"] == f"operator resend of {invalid.command_id} to {CORRECTED}"
    refused = admin.get("/stats").json()["refused"]
    assert (refused.get("21211"), refused.get("21610")) == (1, 1)
    assert {m["to"] for m in sent_sms(stack)} == {GOOD, CORRECTED}
    print(f"\npermanent failures and resend: {time.monotonic() - started:.0f} s")
