"""The monday-sink's replay adapter: its group and topics, its ledger's meaning, and a lookup
of a command's item by the board's Visma ID column.

The lookup is the one the sink makes before any create (`monday_sink.delivery`): the board's
mapping is bound to the board's real columns (a read of the board), and
`items_page_by_column_values` on the Visma ID column finds the item that holds the command's
record. A found item is recorded DONE through the sink's own `Ledger`, as an update of that
item, so the sink skips the command: the item is not written again, which also keeps an older
version of a record from overwriting a newer one that the board already shows. A command
without a Visma id (a digest: a new item each time) has nothing to be looked up by.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from chassis.errors import PermanentError
from chassis.kafka.record import Record
from chassis.settings import ServiceSettings
from chassis.tokens import HolderTokens
from chassis.vault import vault_from_environment
from events.command_topics import SINK_MONDAY
from events.commands import CreateMondayItem
from events.monday_deliveries import (
    STATE_MONDAY_LEDGER,
    MondayAction,
    MondayDelivery,
    MondayDeliveryStatus,
)
from mlc.replay_contract import (
    CommandLedgerTopic,
    EntryState,
    LedgerState,
    ReplayCommand,
    ReplayContext,
    prefixed,
)
from monday_client import MondayClient
from monday_sink.inject import SERVICE, binder, check_options
from monday_sink.ledger import Ledger
from monday_sink.main import options_from
from monday_sink.mapping import MappingFile

BoardKey = tuple[str, str]
"""(tenant, board id)."""


class MissingTokenError(PermanentError):
    """The sink's options give no monday token for a tenant it has a mapping of."""


class MondayReplay:
    sink = SERVICE
    system = "monday.com"

    def __init__(
        self, context: ReplayContext, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """`transport` carries the lookups (tests: the in-process sandbox)."""
        options = options_from(context.sink_args, ServiceSettings())
        self.expiry, files = check_options(options)
        self._options = options
        self._context = context
        self._transport = transport
        self.group_id = context.group_id or options.group_id
        topic = CommandLedgerTopic(
            commands=prefixed(options.commands_topic.name, SINK_MONDAY.name, context.prefix),
            ledger=prefixed(options.ledger_topic.name, STATE_MONDAY_LEDGER.name, context.prefix),
        )
        self.topics = (topic,)
        self._ledger = Ledger(
            sink=SERVICE, topic=topic.ledger, producer=context.producer, serde=context.serde,
            expiry=self.expiry,
        )  # fmt: skip
        self._mappings: dict[BoardKey, MappingFile] = {
            (tenant, spec.board): mapping for tenant, mapping in files for spec in mapping.boards
        }
        self._tokens: HolderTokens | None = None
        self._clients: dict[str, MondayClient] = {}
        self._columns: dict[BoardKey, str] = {}
        """The Visma ID column of each board looked in, as the bound mapping names it."""

    def decode(self, record: Record) -> ReplayCommand:
        command = CreateMondayItem.from_record(record.value)
        return ReplayCommand.of(record, command)

    def ledger_state(self, topic: CommandLedgerTopic, fields: dict[str, Any]) -> LedgerState:
        entry = MondayDelivery.from_record(fields)
        if entry.status is MondayDeliveryStatus.DONE:
            return LedgerState(EntryState.DONE, entry.item_id)
        return LedgerState(EntryState.PENDING)

    def searchable(self, command: ReplayCommand) -> str | None:
        item: CreateMondayItem = command.command
        if item.visma_id is None:
            return "a command without a Visma id (a digest item) cannot be looked up on its board"
        if (item.tenant_id, item.board_id) not in self._mappings:
            return (
                f"board {item.board_id} of tenant {item.tenant_id} has no column mapping in the "
                "monday-sink's configuration (the sink dead-letters it)"
            )
        return None

    async def find(self, command: ReplayCommand) -> str | None:
        item: CreateMondayItem = command.command
        assert item.visma_id is not None  # searchable() said so
        client = self._client(item.tenant_id)
        column = await self._visma_id_column(client, (item.tenant_id, item.board_id))
        found = await client.find_items(item.board_id, column_id=column, value=item.visma_id)
        return found[0].id if found else None

    async def record_found(self, command: ReplayCommand, external_id: str) -> None:
        item: CreateMondayItem = command.command
        entry = MondayDelivery(
            command_id=item.command_id, status=MondayDeliveryStatus.PENDING,
            tenant_id=item.tenant_id, board_id=item.board_id, at=datetime.now(UTC),
            visma_id=item.visma_id, entity_type=item.entity_type, entity_id=item.entity_id,
        )  # fmt: skip
        await self._ledger.done([entry], items=[external_id], action=MondayAction.UPDATED)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    def _client(self, tenant: str) -> MondayClient:
        """The tenant's client with the sink's own token (vault or environment); the vault
        is opened only when a lookup is needed."""
        if tenant not in self._clients:
            if self._tokens is None:
                settings = self._context.settings
                self._tokens = HolderTokens(
                    tokens=self._options.tokens, vault_names=self._options.vault_credentials,
                    vault=self._context.vault or (lambda: vault_from_environment(kafka=settings)),
                )  # fmt: skip
            held = self._tokens.get(tenant)
            if held is None:
                raise MissingTokenError(
                    f"tenant {tenant} has no monday token in the sink's options"
                )
            self._clients[tenant] = MondayClient(
                held.token, base_url=self._options.api_base, api_version=self._options.api_version,
                transport=self._transport, timeout=self._options.request_timeout,
            )  # fmt: skip
        return self._clients[tenant]

    async def _visma_id_column(self, client: MondayClient, board: BoardKey) -> str:
        if board not in self._columns:
            bound = await binder(self._mappings[board])(board[1], client)
            self._columns[board] = bound.visma_id_column
        return self._columns[board]


def build(context: ReplayContext) -> MondayReplay:
    return MondayReplay(context)
