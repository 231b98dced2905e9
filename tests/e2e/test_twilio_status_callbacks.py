"""Status callbacks end to end on the real broker (issue 11, "Status callbacks").

The Twilio sandbox moves each SMS queued -> sent -> delivered/undelivered/failed on its clock
and POSTs signed callbacks to the StatusCallback URL the twilio-sink registered: the
ingress, which verifies each with the official RequestValidator and stores it in Kafka.
Callbacks come out of order (every `sent` held back until after the final status) or
repeated (each POSTed twice), as the sandbox's modes make them. The sink's status applier
must leave each message's final status, and Twilio's error code for the failed ones, in the
ledger, and the audit trail must hold each status of each message once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

from chassis.settings import KafkaSettings
from events.twilio_deliveries import TwilioDelivery, TwilioDeliveryStatus
from events.twilio_status import is_final
from mlc.audit import read_audit
from mlc.stack import FlowStack, free_port
from tests.e2e.twilio_alerts import ledger, produce, recipients, sent_sms, sms, wait_until

pytestmark = pytest.mark.e2e

ALERTS = 40
CARRIER_FAILURE = "+46700030003"  # the sandbox delivers nothing to it: undelivered, 30003


@pytest.mark.parametrize("mode", ["out_of_order", "at_least_once"])
def test_signed_callbacks_leave_each_final_status_in_the_ledger_and_each_transition_audited(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, mode: str
) -> None:
    started = time.monotonic()
    stack = make_stack(
        invoices=0,
        sandbox_args=(
            "--twilio-callback-mode", mode, "--twilio-failure-rate", "0.25", "--clock-speed", "4",
        ),
    )  # fmt: skip
    stack.start_sandbox()
    commands = [
        sms(to, n, run=stack.run_id).model_copy(update={"command_id": f"{stack.run_id}-{n}"})
        for n, to in enumerate([*recipients(ALERTS - 1), CARRIER_FAILURE])
    ]
    produce(kafka_bootstrap, stack.topics.twilio_sms, commands)
    stack.ingress_port = free_port()
    stack.start("ingress").wait_for_log("listening", timeout=60)
    stack.start("twilio-sink")
    t = stack.topics
    entries: dict[str, TwilioDelivery] = {}

    def final_everywhere() -> bool:
        """Every alert DONE in the ledger with the final status the sandbox holds."""
        entries.update(ledger(kafka_bootstrap, t.twilio_sms_ledger))
        twilio = {m["sid"]: m["status"] for m in sent_sms(stack)}
        return len(twilio) == ALERTS and all(
            c.command_id in entries
            and entries[c.command_id].status is TwilioDeliveryStatus.DONE
            and is_final(twilio[entries[c.command_id].external_id or ""])
            and entries[c.command_id].message_status
            == twilio[entries[c.command_id].external_id or ""]
            for c in commands
        )

    wait_until(final_everywhere, timeout=120, stack=stack, what="every final status in the ledger")

    twilio = {m["sid"]: m for m in sent_sms(stack)}
    outcomes = Counter(m["status"] for m in twilio.values())
    failed = entries[commands[-1].command_id]
    assert (failed.message_status, failed.error_code) == ("undelivered", 30003)
    assert 0 < outcomes["delivered"] < ALERTS, outcomes
    for entry in entries.values():
        message = twilio[entry.external_id or ""]
        assert entry.error_code == message["error_code"], "Twilio's code, or none"

    # The audit: each status of each message once (the sandbox sends no callback for queued).
    audit = [
        e for e in read_audit(KafkaSettings(bootstrap_servers=kafka_bootstrap))
        if e["external_id"] in twilio and (e["detail"] or "").startswith("twilio status ")
    ]  # fmt: skip
    transitions = Counter((e["external_id"], e["detail"].split()[2]) for e in audit)
    assert max(transitions.values()) == 1, "each transition audited once"
    for sid, message in twilio.items():
        assert (sid, message["status"]) in transitions
        if message["status"] in ("delivered", "undelivered"):
            assert (sid, "sent") in transitions
    print(  # the figures, shown with -s
        f"\n{ALERTS} SMS, outcomes {dict(outcomes)}, {len(audit)} transitions audited once, "
        f"{time.monotonic() - started:.1f} s"
    )
