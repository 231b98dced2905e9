"""`mlc twilio resend` on the real broker: an id no command has, and a sink that never ran,
are told to the operator in one line (exit 1), never a traceback or a send."""

from __future__ import annotations

import io
import uuid

import pytest

from chassis.settings import KafkaSettings
from mlc.twilio_resend import Topics, resend_command
from tests.e2e.twilio_alerts import produce, sms

pytestmark = pytest.mark.integration


def _topics() -> Topics:
    run = uuid.uuid4().hex[:10]
    return Topics(sms=f"resend-{run}.sms", email=f"resend-{run}.email",
                  sms_ledger=f"resend-{run}.sms-ledger",
                  email_ledger=f"resend-{run}.email-ledger")  # fmt: skip


def _resend(kafka: str, command_id: str, topics: Topics) -> tuple[int, str]:
    out = io.StringIO()
    code = resend_command(KafkaSettings(bootstrap_servers=kafka), command_id, to="+46701234567",
                          force=False, topics=topics, out=out)  # fmt: skip
    return code, out.getvalue()


def test_an_unknown_id_and_an_unhandled_alert_are_refused_in_one_line(
    kafka_bootstrap: str,
) -> None:
    topics = _topics()
    original = sms("+46701550123", 1, run=uuid.uuid4().hex)
    produce(kafka_bootstrap, topics.sms, [original])
    produce(kafka_bootstrap, topics.email, [])
    code, out = _resend(kafka_bootstrap, "f" * 64, topics)
    assert (code, out.count("\n")) == (1, 1)
    assert f"no SMS or email command has id {'f' * 64}" in out
    # The original exists but no sink ever handled it: no ledger (topic) at all.
    code, out = _resend(kafka_bootstrap, original.command_id, topics)
    assert (code, out.count("\n")) == (1, 1)
    assert out.startswith(f"error: {original.command_id[:12]}: ")
