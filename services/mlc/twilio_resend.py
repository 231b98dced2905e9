"""`mlc twilio resend COMMAND_ID`: send a failed SMS or email alert again, as a new command.

The original is read back from its command topic and its fate from the sink's delivery
ledger; `twilio_sink.resend` decides whether it may go. The new command goes to the same
topic as any alert (the twilio-sink sends it, once, through its ledger), and an audit event
links it to the original, so `mlc audit` of either id shows both. Everything printed here is
the command's user output.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from chassis.audit import AUDIT_TOPIC, AuditTrail, Stage
from chassis.errors import ConnectorError
from chassis.kafka.outputs import serde_for
from chassis.kafka.producer import EventProducer, confirm
from chassis.kafka.state import StateLoadError, iter_to_end, read_to_end
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings, RegistrySettings
from events.command_topics import SINK_TWILIO_EMAIL, SINK_TWILIO_SMS
from events.commands import SendEmail, SendSms
from events.twilio_deliveries import (
    STATE_TWILIO_EMAIL_LEDGER,
    STATE_TWILIO_SMS_LEDGER,
    TwilioDelivery,
)
from twilio_sink.ledger import TwilioCommand, recipient
from twilio_sink.resend import ResendRefusedError, resend

CLIENT = "mlc-twilio-resend"
EXAMPLE = """\
The original's id is in `mlc audit` (the alert's 'failed' line names Twilio's code and message,
e.g. 21211 invalid number). Example, an SMS refused for a mistyped number:

  mlc audit t1/1234567/supplierInvoice/10042
  mlc twilio resend 5f1c...e9 --to +46701234567
  mlc audit 5f1c...e9          # the original and its resend, linked

A resend is refused when the original was delivered or may still be (sent, queued, or a call
in flight), and when the sink has not handled it yet; --force sends it in every case. The
same resend run twice sends once; with --force each run sends again.
"""


@dataclass(frozen=True)
class Topics:
    sms: str = SINK_TWILIO_SMS.name
    email: str = SINK_TWILIO_EMAIL.name
    sms_ledger: str = STATE_TWILIO_SMS_LEDGER.name
    email_ledger: str = STATE_TWILIO_EMAIL_LEDGER.name


class OriginalNotFoundError(ConnectorError):
    """No SMS or email command has that id (or it is past the topic's retention)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLE
    parser.add_argument("command_id", metavar="COMMAND_ID", help="the alert to send again")
    parser.add_argument(
        "--to",
        metavar="NUMBER",
        help="send to this number instead (E.164); for an email, comma-separated addresses",
    )
    parser.add_argument(
        "--force", action="store_true", help="send even if the original was delivered"
    )
    defaults = Topics()  # tests give topics of their own
    for name in ("sms", "email", "sms_ledger", "email_ledger"):
        flag = "--" + name.replace("_", "-") + "-topic"
        parser.add_argument(
            flag, dest=f"{name}_topic", default=getattr(defaults, name), help=argparse.SUPPRESS
        )


def run(args: argparse.Namespace) -> int:
    topics = Topics(
        sms=args.sms_topic,
        email=args.email_topic,
        sms_ledger=args.sms_ledger_topic,
        email_ledger=args.email_ledger_topic,
    )
    return resend_command(
        KafkaSettings(), args.command_id, to=args.to, force=args.force, topics=topics,
        out=sys.stdout,
    )  # fmt: skip


def resend_command(
    settings: KafkaSettings,
    command_id: str,
    *,
    to: str | None,
    force: bool,
    topics: Topics,
    out: TextIO,
) -> int:
    """Sends the alert again; 0 when sent (or already resent so), 1 when refused or unknown."""
    serde = serde_for(RegistrySettings())
    try:
        original = find_command(settings, serde, command_id, topics=topics)
        sms = isinstance(original, SendSms)
        ledger = read_ledger(settings, serde, topics.sms_ledger if sms else topics.email_ledger)
        command = resend(original, ledger.get(command_id), now=datetime.now(UTC), to=to,
                         force=force)  # fmt: skip
    except (OriginalNotFoundError, ResendRefusedError, StateLoadError) as exc:
        print(f"error: {command_id[:12]}: {exc}", file=out)
        return 1
    earlier = ledger.get(command.command_id)
    if earlier is not None:
        print(f"already resent as {command.command_id} ({earlier.status}"
              f"{', ' + earlier.message_status if earlier.message_status else ''}); "
              "--force sends it again", file=out)  # fmt: skip
        return 0
    publish(settings, serde, command, topic=topics.sms if sms else topics.email, forced=force)
    print(f"resent {command_id} as {command.command_id} to {recipient(command)}", file=out)
    print(f"follow it with: mlc audit {command.command_id}", file=out)
    return 0


def find_command(
    settings: KafkaSettings, serde: AvroSerde, command_id: str, *, topics: Topics
) -> TwilioCommand:
    """The SMS or email command with that id, read back from its topic."""
    wanted = command_id.encode()
    for topic, model in ((topics.sms, SendSms), (topics.email, SendEmail)):
        for _, value in iter_to_end(settings, topic, client=CLIENT):
            if wanted in value:  # the id is in the record's bytes: decode only candidates
                record = serde.decode(value)[1]
                if record.get("command_id") == command_id:
                    found: TwilioCommand = model.from_record(record)
                    return found
    raise OriginalNotFoundError(f"no SMS or email command has id {command_id}")


def read_ledger(settings: KafkaSettings, serde: AvroSerde, topic: str) -> dict[str, TwilioDelivery]:
    """The newest ledger entry of every command (the topic is compacted, keyed by id)."""
    return {
        key: TwilioDelivery.from_record(serde.decode(value)[1])
        for key, value in read_to_end(settings, topic, client=CLIENT).items()
    }


def publish(
    settings: KafkaSettings, serde: AvroSerde, command: TwilioCommand, *, topic: str, forced: bool
) -> None:
    """The new command and the audit event linking it to the original, both confirmed."""
    producer = EventProducer(settings, CLIENT)
    try:
        audit = AuditTrail(
            service="mlc",
            serde=serde,
            publish=lambda key, value: producer.send(AUDIT_TOPIC.name, key=key, value=value),
        )
        written = [
            producer.send(topic, key=command.key, value=serde.encode(command.SCHEMA,
                                                                     command.to_record())),
            audit.record(
                Stage.ROUTED, entity_id=command.entity_id, event_id=command.source_event_id,
                command_id=command.command_id,
                detail=f"operator resend of {command.resend_of} to {recipient(command)}"
                + (" (forced)" if forced else ""),
            ),
        ]  # fmt: skip
        confirm(written)
    finally:
        producer.close()
