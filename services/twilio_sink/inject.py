"""Composition root of the Twilio sink; tests and the demo pass overrides, never patches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from chassis.errors import PermanentError
from chassis.kafka.expiry import DEFAULT_HORIZON, Expiry
from chassis.kafka.ledger import check_aligned
from chassis.kafka.outputs import service_outputs
from chassis.kafka.producer import EventProducer
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.service import ConsumerService
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec
from chassis.vault import CredentialVault, vault_from_environment
from events.command_topics import SINK_TWILIO_EMAIL, SINK_TWILIO_SMS
from events.twilio_deliveries import (
    STATE_TWILIO_EMAIL_LEDGER,
    STATE_TWILIO_SMS_LEDGER,
    TwilioChannel,
)
from twilio_client import (
    DEFAULT_BASE_URL,
    SENDGRID_BASE_URL,
    EmailSender,
    SendGridSender,
    TwilioCredentials,
    TwilioMessages,
)
from twilio_sink.credentials import CredentialSource, resolve
from twilio_sink.delivery import AccountCap, SmsSender, TwilioAlerts
from twilio_sink.ledger import Ledger

SERVICE = "twilio-sink"
DEFAULT_ACCOUNT_CAP = 4
"""Calls in flight to one Twilio account; Twilio answers 20429 past its concurrency limit."""


class SinkConfigError(PermanentError):
    """The sink's configuration cannot work (say why)."""


@dataclass
class SinkOptions:
    account_sid: str
    auth: CredentialSource
    """The Auth Token, or the API key's secret with `api_key_sid`."""
    sender: SmsSender
    api_key_sid: str | None = None
    sendgrid: CredentialSource = field(default_factory=CredentialSource)
    """SendGrid's `SG.` key; without one the sink sends SMS only (no email topic read)."""
    email_from: str | None = None
    email_from_name: str | None = None
    group_id: str = "mlc-twilio-sink"
    sms_topic: TopicSpec = SINK_TWILIO_SMS
    email_topic: TopicSpec = SINK_TWILIO_EMAIL
    sms_ledger_topic: TopicSpec = STATE_TWILIO_SMS_LEDGER
    email_ledger_topic: TopicSpec = STATE_TWILIO_EMAIL_LEDGER
    ledger_horizon: timedelta = DEFAULT_HORIZON
    api_base: str = DEFAULT_BASE_URL
    sendgrid_base: str = SENDGRID_BASE_URL
    account_cap: int = DEFAULT_ACCOUNT_CAP
    request_timeout: float = 15.0
    """Seconds before a call counts as timed out (an SMS is then looked up before a resend)."""
    transport: httpx.AsyncBaseTransport | None = None
    vault: Callable[[], CredentialVault] | None = None
    instance_id: str | None = None
    retry_budget: float = RunnerConfig.retry_budget

    @property
    def sends_email(self) -> bool:
        return self.sendgrid.configured


@dataclass
class SinkApp(ConsumerService):
    runner: ConsumerRunner
    http: list[httpx.AsyncClient]
    producer: EventProducer

    async def aclose(self) -> None:
        for client in self.http:
            await client.aclose()
        self.producer.close()


def check_options(options: SinkOptions) -> Expiry:
    """The configuration can work (or a `SinkConfigError` says why)."""
    if (options.sender.from_ is None) == (options.sender.messaging_service_sid is None):
        raise SinkConfigError("give exactly one of --from and --messaging-service-sid")
    if options.sends_email and not options.email_from:
        raise SinkConfigError("email needs --email-from")
    if options.account_cap < 1:
        raise SinkConfigError("--account-cap must be at least 1")
    expiry = Expiry(options.ledger_horizon)
    pairs = [(options.sms_topic, options.sms_ledger_topic)]
    if options.sends_email:
        pairs.append((options.email_topic, options.email_ledger_topic))
    for commands, ledger in pairs:
        expiry.check_covers(commands)
        check_aligned(ledger, commands)
    return expiry


def build(settings: KafkaSettings, options: SinkOptions) -> SinkApp:
    expiry = check_options(options)
    topics = {TwilioChannel.SMS: (options.sms_topic, options.sms_ledger_topic)}
    if options.sends_email:
        topics[TwilioChannel.EMAIL] = (options.email_topic, options.email_ledger_topic)
    outputs = service_outputs(
        settings, service=SERVICE, group_id=options.group_id,
        topics=[spec for pair in topics.values() for spec in pair],
    )  # fmt: skip
    secrets = resolve(
        {"twilio": options.auth} | ({"sendgrid": options.sendgrid} if options.sends_email else {}),
        vault=options.vault or (lambda: vault_from_environment(kafka=settings)),
    )
    ledger = Ledger(
        sink=SERVICE,
        topics={channel: (c.name, ledger.name) for channel, (c, ledger) in topics.items()},
        producer=outputs.producer, serde=outputs.serde, expiry=expiry,
    )  # fmt: skip
    # No HTTP retry below the client: a 20429 comes back to the runner, which waits it out
    # for that recipient, and a resend after a timeout must pass the lookup first.
    twilio_http = httpx.AsyncClient(
        base_url=options.api_base, transport=options.transport, timeout=options.request_timeout
    )
    clients = [twilio_http]
    credentials = TwilioCredentials(
        account_sid=options.account_sid, secret=secrets["twilio"], api_key_sid=options.api_key_sid
    )
    email: EmailSender | None = None
    if options.sends_email:
        assert options.email_from is not None
        mail_http = httpx.AsyncClient(
            base_url=options.sendgrid_base, transport=options.transport,
            timeout=options.request_timeout,
        )  # fmt: skip
        clients.append(mail_http)
        email = SendGridSender(
            mail_http, api_key=secrets["sendgrid"], from_email=options.email_from,
            from_name=options.email_from_name,
        )  # fmt: skip
    alerts = TwilioAlerts(
        messages=TwilioMessages(twilio_http, credentials=credentials),
        sender=options.sender,
        email=email,
        ledger=ledger,
        audit=outputs.audit,
        cap=AccountCap(options.account_cap),
    )
    runner = ConsumerRunner(
        settings=settings,
        config=RunnerConfig(
            group_id=options.group_id,
            topics=tuple(c.name for c, _ in topics.values()),
            instance_id=options.instance_id,
            retry_budget=options.retry_budget,
        ),
        handler=alerts,
        serde=outputs.serde,
        dead_letters=outputs.dead_letters,
        audit=outputs.audit,
        entity_of=lambda r: str(r.value.get("entity_id") or r.key),
        on_assigned=lambda assigned: ledger.load(settings, assigned),
        on_revoked=lambda revoked: ledger.forget(revoked),
    )
    return SinkApp(runner, clients, outputs.producer)
