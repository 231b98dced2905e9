"""Composition root of the monday-sink; tests and the demo pass overrides, never patches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr

from chassis.errors import PermanentError
from chassis.kafka.expiry import DEFAULT_HORIZON, Expiry
from chassis.kafka.ledger import check_aligned
from chassis.kafka.outputs import service_outputs
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Batching
from chassis.kafka.runner import ConsumerRunner, RunnerConfig
from chassis.service import ConsumerService
from chassis.settings import KafkaSettings
from chassis.tokens import HolderTokens
from chassis.topics import TopicSpec
from chassis.vault import CredentialVault, vault_from_environment
from events.command_topics import SINK_MONDAY
from events.monday import MONDAY_ITEMS
from events.monday_deliveries import STATE_MONDAY_LEDGER
from monday_client import DEFAULT_API_VERSION, DEFAULT_BASE_URL, MondayClient
from monday_sink.boards import Binder, MappedBoards
from monday_sink.credentials import TenantClients
from monday_sink.daily_limit import DailyLimits
from monday_sink.delivery import MondayItems
from monday_sink.ledger import Ledger
from monday_sink.links import ItemLinks
from monday_sink.mapping import MappingFile, bind, load_mappings
from monday_sink.ports import BoardItems, BoardMapping

SERVICE = "monday-sink"


class SinkConfigError(PermanentError):
    """The sink's configuration cannot work (the message says why)."""


@dataclass
class SinkOptions:
    mappings: list[Path]
    """Mapping files (`mlc monday map` writes them); each names its tenant or is `tenant`'s."""
    tenant: str | None = None
    """The tenant of a mapping file that names none."""
    tokens: dict[str, SecretStr] = field(default_factory=dict)
    """Tenant -> monday API token given directly (from the environment)."""
    vault_credentials: dict[str, str] = field(default_factory=dict)
    """Tenant -> the name of its monday token in the credential vault."""
    vault: Callable[[], CredentialVault] | None = None
    api_base: str = DEFAULT_BASE_URL
    api_version: str = DEFAULT_API_VERSION
    group_id: str = "mlc-monday-sink"
    commands_topic: TopicSpec = SINK_MONDAY
    ledger_topic: TopicSpec = STATE_MONDAY_LEDGER
    links_topic: TopicSpec = MONDAY_ITEMS
    ledger_horizon: timedelta = DEFAULT_HORIZON
    batch_over: int = 10
    """A board with more queued commands than this sends its updates several per request."""
    batch_max: int = 25
    credential_refresh_seconds: float = 2.0
    """While monday refuses a vault token, the vault is re-read this often."""
    daily_limit_probe_seconds: float = 60.0
    """While a tenant's daily limit holds it, one cheap call this often looks for a reset."""
    request_timeout: float = 30.0
    transport: httpx.AsyncBaseTransport | None = None
    instance_id: str | None = None
    retry_budget: float = RunnerConfig.retry_budget


@dataclass
class SinkApp(ConsumerService):
    runner: ConsumerRunner
    boards: MappedBoards
    bind_boards: Callable[[], Awaitable[None]]
    clients: list[MondayClient]
    producer: EventProducer
    limits: DailyLimits
    credentials: TenantClients

    async def consume(self) -> None:
        """Binds every mapping to its board's real columns first: an impossible mapping stops
        the start with its message, before any command is read."""
        await self.bind_boards()
        await super().consume()

    async def aclose(self) -> None:
        await self.limits.aclose()
        await self.credentials.aclose()
        for client in self.clients:
            await client.aclose()
        self.producer.close()


def check_options(options: SinkOptions) -> tuple[Expiry, list[tuple[str, MappingFile]]]:
    """The configuration can work (or a `SinkConfigError` says why); returns the ledger's
    expiry and each mapping file with its tenant."""
    expiry = Expiry(options.ledger_horizon)
    expiry.check_covers(options.commands_topic)
    check_aligned(options.ledger_topic, options.commands_topic)
    if not options.mappings:
        raise SinkConfigError("no mapping file: give --mapping (mlc monday map writes one)")
    if options.batch_over < 1 or options.batch_max < 2:
        raise SinkConfigError("--batch-over must be >= 1 and --batch-max >= 2")
    files = []
    for path in options.mappings:
        mapping = load_mappings(path)
        tenant = mapping.tenant or options.tenant
        if tenant is None:
            raise SinkConfigError(f"{path} names no tenant: add `tenant:` or give --tenant")
        if tenant not in options.tokens and tenant not in options.vault_credentials:
            raise SinkConfigError(
                f"{path}: tenant {tenant} has no monday token: give --tenant-credential "
                f"{tenant}=CREDENTIAL (vault) or --tenant-token {tenant}=ENV_VAR"
            )
        files.append((tenant, mapping))
    return expiry, files


def binder(mapping: MappingFile) -> Binder:
    """Binds a board of `mapping` to the board monday has (`monday_sink.mapping.bind`)."""

    async def bind_board(board_id: str, items: BoardItems) -> BoardMapping:
        return bind(await items.board(board_id), mapping.board(board_id))

    return bind_board


def build(settings: KafkaSettings, options: SinkOptions) -> SinkApp:
    expiry, files = check_options(options)
    outputs = service_outputs(
        settings, service=SERVICE, group_id=options.group_id,
        topics=[options.commands_topic, options.ledger_topic, options.links_topic],
    )  # fmt: skip
    tokens = HolderTokens(
        tokens=options.tokens, vault_names=options.vault_credentials,
        vault=options.vault or (lambda: vault_from_environment(kafka=settings)),
    )  # fmt: skip
    made: list[MondayClient] = []

    def client_for(token: SecretStr) -> MondayClient:
        made.append(MondayClient(
            token, base_url=options.api_base, api_version=options.api_version,
            transport=options.transport, timeout=options.request_timeout,
        ))  # fmt: skip
        return made[-1]

    clients = TenantClients(
        tokens=tokens, client_for=client_for, tenants=sorted({t for t, _ in files}),
        refresh_seconds=options.credential_refresh_seconds,
    )  # fmt: skip
    boards = MappedBoards({})
    clients.on_replaced(boards.use)

    async def bind_boards() -> None:
        for tenant, mapping in files:
            await boards.bind(tenant, clients[tenant], [s.board for s in mapping.boards],
                              binder(mapping))  # fmt: skip

    ledger = Ledger(
        sink=SERVICE, topic=options.ledger_topic.name, producer=outputs.producer,
        serde=outputs.serde, expiry=expiry,
    )  # fmt: skip
    limits = DailyLimits(probe_seconds=options.daily_limit_probe_seconds)
    items = MondayItems(
        boards=boards, ledger=ledger, audit=outputs.audit, limits=limits,
        linked=ItemLinks(producer=outputs.producer, serde=outputs.serde,
                         topic=options.links_topic.name),
        credentials=clients,
    )  # fmt: skip
    runner = ConsumerRunner(
        settings=settings,
        config=RunnerConfig(
            group_id=options.group_id,
            topics=(options.commands_topic.name,),
            instance_id=options.instance_id,
            retry_budget=options.retry_budget,
        ),
        handler=items,
        serde=outputs.serde,
        dead_letters=outputs.dead_letters,
        audit=outputs.audit,
        entity_of=lambda r: str(r.value.get("entity_id") or r.key),
        on_assigned=lambda assigned: ledger.load(settings, [p for _, p in assigned]),
        on_revoked=lambda revoked: ledger.forget([p for _, p in revoked]),
        batching=Batching(
            handler=items.batch, queue_over=options.batch_over,
            max_records=options.batch_max, foldable=items.foldable,
        ),
    )  # fmt: skip
    return SinkApp(runner, boards, bind_boards, made, outputs.producer, limits, clients)
