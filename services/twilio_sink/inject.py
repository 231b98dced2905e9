"""Composition root of the Twilio sink; tests and the demo pass overrides, never patches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from chassis.errors import PermanentError
from chassis.kafka.dlq import DeadLetters
from chassis.kafka.expiry import DEFAULT_HORIZON, Expiry
from chassis.kafka.ledger import CommandLedger, check_aligned
from chassis.kafka.outputs import ServiceOutputs, service_outputs
from chassis.kafka.producer import EventProducer
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.kafka.view import CompactedView
from chassis.service import ConsumerService
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic, redrive_topic
from chassis.vault import CredentialVault, vault_from_environment
from events.command_topics import SINK_TWILIO_EMAIL, SINK_TWILIO_SMS
from events.twilio_deliveries import (
    STATE_TWILIO_EMAIL_LEDGER,
    STATE_TWILIO_SMS_LEDGER,
    TwilioChannel,
    TwilioDelivery,
)
from events.twilio_status import (
    STATE_TWILIO_MESSAGE_STATUS,
    TWILIO_MESSAGE_STATUSES,
    TwilioMessageState,
)
from twilio_client import (
    DEFAULT_BASE_URL,
    SENDGRID_BASE_URL,
    SendGridSender,
    TwilioCredentials,
    TwilioMessages,
)
from twilio_sink.account_cap import AccountCap
from twilio_sink.credentials import CredentialSource, ProviderSecrets, RefusedCredentials, Use
from twilio_sink.delivery import SmsSender, TwilioAlerts
from twilio_sink.ledger import Ledger
from twilio_sink.status import SentMessages, StatusApplier

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
    credential_refresh_seconds: float = 2.0
    """While a provider refuses a vault credential, the vault is re-read this often."""
    apply_statuses: bool = True
    """Also consume the ingress's status callbacks and apply them to the SMS ledger."""
    status_topic: TopicSpec = TWILIO_MESSAGE_STATUSES
    status_state_topic: TopicSpec = STATE_TWILIO_MESSAGE_STATUS
    status_group_id: str | None = None
    """Default: the sink's group id + "-status"."""
    status_sweep_seconds: float = 1.0
    """How often statuses kept for a SID the ledger did not hold are tried again."""

    @property
    def status_group(self) -> str:
        return self.status_group_id or f"{self.group_id}-status"

    @property
    def sends_email(self) -> bool:
        return self.sendgrid.configured


@dataclass
class StatusPart:
    """The status applier's runner, the view of the SMS ledger it reads, and its sweep."""

    runner: ConsumerRunner
    applier: StatusApplier
    view: CompactedView[TwilioDelivery]
    sweep_seconds: float


@dataclass
class SinkApp(ConsumerService):
    runner: ConsumerRunner
    http: list[httpx.AsyncClient]
    producer: EventProducer
    statuses: StatusPart | None = None
    credentials: RefusedCredentials | None = None

    def __post_init__(self) -> None:
        self.views = [self.statuses.view] if self.statuses else []

    def ready(self) -> bool:
        return super().ready() and (self.statuses is None or self.statuses.runner.assigned)

    def stop(self) -> None:
        super().stop()
        if self.statuses is not None:
            self.statuses.runner.stop()

    async def consume(self) -> None:
        """Both runners and the sweep; when one of them ends (a stop, or a failure), the
        others are stopped too and the first failure is raised."""
        if self.statuses is None:
            await super().consume()
            return
        part, stopping = self.statuses, asyncio.Event()
        work = [
            asyncio.ensure_future(super().consume()),
            asyncio.ensure_future(part.runner.run()),
            asyncio.ensure_future(part.applier.sweep_every(part.sweep_seconds, stopping)),
        ]
        try:
            await asyncio.wait(work, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.stop()
            stopping.set()
            ended = await asyncio.gather(*work, return_exceptions=True)
        failure = next((e for e in ended if isinstance(e, BaseException)), None)
        if failure is not None:
            raise failure

    async def aclose(self) -> None:
        if self.credentials is not None:
            await self.credentials.aclose()
        if self.statuses is not None:
            self.statuses.view.stop()
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
    status_topics = []
    if options.apply_statuses:
        status_dlq = dead_letter_topic(options.status_group)
        status_redrive = redrive_topic(options.status_group)
        status_topics = [
            options.status_topic, options.status_state_topic, status_dlq, status_redrive
        ]  # fmt: skip
    outputs = service_outputs(
        settings, service=SERVICE, group_id=options.group_id,
        topics=[*(spec for pair in topics.values() for spec in pair), *status_topics],
    )  # fmt: skip
    secrets = ProviderSecrets(
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
    messages = TwilioMessages(twilio_http, credentials=credentials)
    use: dict[str, Use] = {
        "twilio": lambda secret: messages.use(
            messages.credentials.model_copy(update={"secret": secret})
        )
    }
    email: SendGridSender | None = None
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
        use["sendgrid"] = email.use
    refused = RefusedCredentials(
        secrets, use=use, refresh_seconds=options.credential_refresh_seconds
    )
    alerts = TwilioAlerts(
        messages=messages,
        sender=options.sender,
        email=email,
        ledger=ledger,
        audit=outputs.audit,
        cap=AccountCap(options.account_cap, account=options.account_sid),
        email_cap=AccountCap(options.account_cap, account="email"),
        credentials=refused,
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
    statuses = status_part(settings, options, outputs, expiry) if options.apply_statuses else None
    return SinkApp(runner, clients, outputs.producer, statuses, refused)


def status_part(
    settings: KafkaSettings, options: SinkOptions, outputs: ServiceOutputs, expiry: Expiry
) -> StatusPart:
    """The status applier: its own consumer group on the callbacks topic, each SID's state
    in a ledger aligned with it, and the whole SMS ledger read to find a SID's entry."""
    check_aligned(options.status_state_topic, options.status_topic)
    sent = SentMessages(outputs.serde)
    view = CompactedView(
        settings, [options.sms_ledger_topic.name], decode=sent.decode,
        client=f"{options.status_group}-sms-ledger", on_removed=sent.remove,
    ).start()  # fmt: skip

    def ledger_of(entry: type[Any], topic: TopicSpec, name: str) -> CommandLedger[Any]:
        return CommandLedger(
            entry, topic=topic.name, producer=outputs.producer, serde=outputs.serde,
            client=f"{options.status_group}-{name}", expiry=expiry,
        )  # fmt: skip

    applier = StatusApplier(
        states=ledger_of(TwilioMessageState, options.status_state_topic, "states"),
        sent=sent,
        ledger=ledger_of(TwilioDelivery, options.sms_ledger_topic, "writer"),
        partition_of=view.partition_of,
        audit=outputs.audit,
    )
    runner = ConsumerRunner(
        settings=settings,
        config=RunnerConfig(
            group_id=options.status_group,
            topics=(options.status_topic.name,),
            instance_id=options.instance_id and f"{options.instance_id}-status",
            retry_budget=options.retry_budget,
        ),
        handler=applier,
        serde=outputs.serde,
        dead_letters=DeadLetters(outputs.producer, options.status_group),
        audit=outputs.audit,
        entity_of=lambda r: str(r.key),
        on_assigned=lambda assigned: applier.load(settings, [p for _, p in assigned]),
        on_revoked=lambda revoked: applier.forget([p for _, p in revoked]),
    )
    return StatusPart(runner, applier, view, options.status_sweep_seconds)
