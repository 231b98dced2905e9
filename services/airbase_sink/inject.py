"""Composition root of the airbase-sink; tests and the demo pass overrides, never patches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client import Counter, Gauge
from pydantic import SecretStr

from airbase_client import AirbaseClient, AirbaseProfile, load_profile
from airbase_sink.delivery import AirbaseWrites
from airbase_sink.ledger import Ledger
from airbase_sink.ports import AirbaseAccount
from airbase_sink.tenants import AirbaseTenant, load_tenants
from chassis.kafka.expiry import DEFAULT_HORIZON, Expiry
from chassis.kafka.ledger import check_aligned
from chassis.kafka.outputs import service_outputs
from chassis.kafka.producer import EventProducer
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.service import ConsumerService
from chassis.settings import KafkaSettings
from chassis.tenant_clients import TenantClients
from chassis.tokens import HolderTokens
from chassis.topics import TopicSpec
from chassis.vault import CredentialVault, vault_from_environment
from events.airbase_deliveries import STATE_AIRBASE_LEDGER
from events.command_topics import SINK_AIRBASE

SERVICE = "airbase-sink"

INVALID = Gauge(
    "mlc_airbase_credential_invalid",
    "1 while Airbase refuses the tenant's token and its commands are held",
    ["tenant"],
)
ALERTS = Counter("mlc_airbase_credential_alerts_total", "Airbase refused a token", ["tenant"])


@dataclass
class SinkOptions:
    tenants_file: Path
    """The tenants file (`airbase_sink.tenants`): each tenant's account and token name."""
    vault: Callable[[], CredentialVault] | None = None
    tokens: dict[str, SecretStr] = field(default_factory=dict)
    """Tenant -> token given directly (tests); the file's vault name is used otherwise."""
    group_id: str = "mlc-airbase-sink"
    commands_topic: TopicSpec = SINK_AIRBASE
    ledger_topic: TopicSpec = STATE_AIRBASE_LEDGER
    ledger_horizon: timedelta = DEFAULT_HORIZON
    request_timeout: float = 30.0
    credential_refresh_seconds: float = 2.0
    """While Airbase refuses a vault token, the vault is re-read this often."""
    transport: httpx.AsyncBaseTransport | None = None
    instance_id: str | None = None
    retry_budget: float = RunnerConfig.retry_budget


@dataclass
class SinkApp(ConsumerService):
    runner: ConsumerRunner
    clients: TenantClients[AirbaseAccount]
    made: list[AirbaseClient]
    producer: EventProducer

    async def aclose(self) -> None:
        await self.clients.aclose()
        for client in self.made:
            await client.aclose()
        self.producer.close()


def check_options(options: SinkOptions) -> tuple[Expiry, dict[str, AirbaseTenant]]:
    """The configuration can work (or a `PermanentError` says why); returns the ledger's
    expiry and the tenants."""
    expiry = Expiry(options.ledger_horizon)
    expiry.check_covers(options.commands_topic)
    check_aligned(options.ledger_topic, options.commands_topic)
    tenants = load_tenants(options.tenants_file)
    for tenant in tenants.values():
        profile_of(tenant)  # a profile that cannot be read stops the start
    return expiry, tenants


def profile_of(tenant: AirbaseTenant) -> AirbaseProfile:
    profile = load_profile(tenant.profile) if tenant.profile else AirbaseProfile()
    if tenant.auth_scheme is not None:
        profile = profile.model_copy(update={"auth_scheme": tenant.auth_scheme})
    return profile


def build(settings: KafkaSettings, options: SinkOptions) -> SinkApp:
    expiry, tenants = check_options(options)
    outputs = service_outputs(
        settings, service=SERVICE, group_id=options.group_id,
        topics=[options.commands_topic, options.ledger_topic],
    )  # fmt: skip
    vault_names = {t: tenant.credential for t, tenant in tenants.items() if t not in options.tokens}
    tokens = HolderTokens(
        tokens=options.tokens, vault_names=vault_names,
        vault=options.vault or (lambda: vault_from_environment(kafka=settings)),
    )  # fmt: skip
    made: list[AirbaseClient] = []

    def client_for(tenant: str, token: SecretStr) -> AirbaseAccount:
        account = tenants[tenant]
        made.append(AirbaseClient(
            account.api_base, token, profile_of(account), transport=options.transport,
            timeout=options.request_timeout,
        ))  # fmt: skip
        return made[-1]

    clients: TenantClients[AirbaseAccount] = TenantClients(
        system="Airbase", tokens=tokens, client_for=client_for, tenants=sorted(tenants),
        invalid=INVALID, alerts=ALERTS, refresh_seconds=options.credential_refresh_seconds,
        share_key=lambda tenant, token: f"{tenant}\n{token.get_secret_value()}",
    )  # fmt: skip
    ledger = Ledger(
        topic=options.ledger_topic.name, producer=outputs.producer, serde=outputs.serde,
        client=f"{SERVICE}-ledger", expiry=expiry,
    )  # fmt: skip
    writes = AirbaseWrites(tenants=tenants, clients=clients, ledger=ledger, audit=outputs.audit)
    runner = ConsumerRunner(
        settings=settings,
        config=RunnerConfig(
            group_id=options.group_id,
            topics=(options.commands_topic.name,),
            instance_id=options.instance_id,
            retry_budget=options.retry_budget,
        ),
        handler=writes,
        serde=outputs.serde,
        dead_letters=outputs.dead_letters,
        audit=outputs.audit,
        entity_of=lambda r: str(r.value.get("entity_id") or r.key),
        on_assigned=lambda assigned: ledger.load(settings, [p for _, p in assigned]),
        on_revoked=lambda revoked: ledger.forget([p for _, p in revoked]),
    )
    return SinkApp(runner, clients, made, outputs.producer)
