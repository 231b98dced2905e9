"""What `mlc replay` needs of a sink: the contract each sink's replay adapter fulfils.

`mlc replay` is generic: it reads a window of a sink's commands, reads the sink's ledger as
the sink loads it, decides per command (skip, let the sink look it up, look it up now,
refuse), writes what it found, tombstones what is forced, and resets the group's offsets.
What differs per sink lives in one adapter (a `SinkReplay`), built from the same options the
sink runs with (`mlc run SINK --help`), so the replay sees the same group, topics, API base
and credentials as the sink:

- `group_id` and `topics`: the sink's consumer group and, per command topic, the ledger
  topic that holds its entries (ledger partition p holds the entries of command partition p);
- `decode`: a command record's fields as the sink's own command model;
- `ledger_state`: what a ledger entry means to the sink (done with its external id, an
  attempt in flight, failed for good), from the entry's decoded fields;
- `searchable` and `find`: whether a command with no ledger entry can be looked for in the
  external system, and the read-only lookup itself (the external id, or None);
- `record_found`: writes the entry the sink itself would write after doing the command, so
  the sink skips it. It is called inside the command's `chassis.kafka.handling` context, so
  the sink's own ledger class writes to the right partition.

An adapter module exposes `build(context: ReplayContext) -> SinkReplay`; `ADAPTERS` names
the module of each sink (imported on use, as `mlc` imports its sub-commands).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from chassis.errors import PermanentError
from chassis.kafka.expiry import Expiry
from chassis.kafka.producer import EventProducer
from chassis.kafka.record import Record
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from chassis.vault import CredentialVault
from events.deliveries import DeliveryStatus, SinkDelivery

ADAPTERS: dict[str, str] = {
    "slack-sink": "mlc.replay_slack",
    "monday-sink": "mlc.replay_monday",
    "airbase-sink": "mlc.replay_airbase",
    "visma-writer": "mlc.replay_visma_writer",
    "twilio-sink": "mlc.replay_twilio",
}
"""Sink service name (as `mlc run` names it) -> the module of its replay adapter."""


class UnknownSinkError(PermanentError):
    """No replay adapter for that sink name."""


class EntryState(StrEnum):
    DONE = "done"
    """The side effect happened; the external id says where."""
    PENDING = "pending"
    """An attempt may have happened; the sink looks in the external system before a retry."""
    RETRY = "retry"
    """The last attempt did nothing (the system refused it): the sink calls again."""
    FAILED = "failed"
    """Refused for good; the sink never retries it on its own."""


@dataclass(frozen=True)
class LedgerState:
    state: EntryState
    external_id: str | None = None
    detail: str = ""


def delivery_state(fields: dict[str, Any]) -> LedgerState:
    """What a `SinkDelivery` ledger entry means (the shared entry of the Airbase sink and the
    Visma writer): done with its external id, else an attempt that may have happened."""
    entry = SinkDelivery.from_record(fields)
    if entry.status is DeliveryStatus.DONE:
        return LedgerState(EntryState.DONE, entry.external_id)
    return LedgerState(EntryState.PENDING)


@dataclass(frozen=True)
class CommandLedgerTopic:
    """A command topic of the sink and the ledger topic of its entries."""

    commands: str
    ledger: str


@dataclass(frozen=True)
class ReplayCommand:
    """One command record of the window, decoded by the sink's adapter."""

    record: Record
    command: Any
    """The sink's own command model (e.g. `PostSlackMessage`)."""
    command_id: str
    entity_id: str
    event_id: str | None

    @property
    def position(self) -> str:
        return self.record.position

    @classmethod
    def of(cls, record: Record, command: Any, *, entity_id: str | None = None) -> ReplayCommand:
        """A decoded command with the ids every command model carries (`command_id`,
        `entity_id`, `source_event_id`); `entity_id` for a sink whose commands may lack one."""
        return cls(
            record=record,
            command=command,
            command_id=command.command_id,
            entity_id=entity_id or command.entity_id,
            event_id=command.source_event_id,
        )


@dataclass(frozen=True)
class ReplayContext:
    """What an adapter is built from."""

    settings: KafkaSettings
    serde: AvroSerde
    producer: EventProducer
    """For `record_found`'s ledger writes; the replay closes it."""
    sink_args: argparse.Namespace
    """The sink's own options, parsed by its `mlc run SINK` parser."""
    prefix: str = ""
    """Prepended to every topic name the sink's options leave at its default (a run's topics)."""
    group_id: str | None = None
    """Overrides the sink's group id."""
    vault: Callable[[], CredentialVault] | None = None
    """Opens the vault for the sink's named credentials (default: from the environment)."""


class SinkReplay(Protocol):
    """One sink's side of a replay (see the module's docstring)."""

    @property
    def sink(self) -> str:
        """The service name, as `mlc run` names it."""

    @property
    def system(self) -> str:
        """The external system its side effects go to, as an operator names it."""

    @property
    def group_id(self) -> str: ...

    @property
    def expiry(self) -> Expiry:
        """The sink's ledger horizon, as it is configured."""

    @property
    def topics(self) -> tuple[CommandLedgerTopic, ...]: ...

    def decode(self, record: Record) -> ReplayCommand:
        """`record.value` holds the decoded fields; raises `ValueError` if they are not a
        command of this sink."""

    def ledger_state(self, topic: CommandLedgerTopic, fields: dict[str, Any]) -> LedgerState:
        """What the decoded ledger entry `fields` (newest of its command) means."""

    def searchable(self, command: ReplayCommand) -> str | None:
        """None when `find` can look for the command; else why not, e.g. "SendGrid cannot be
        searched"."""

    async def find(self, command: ReplayCommand) -> str | None:
        """The external id of the command's side effect if the system shows one (a read:
        nothing is created or changed), else None."""

    async def record_found(self, command: ReplayCommand, external_id: str) -> None:
        """Writes the ledger entry the sink writes after doing the command itself, confirmed
        by Kafka (called inside the command's handling context)."""

    async def aclose(self) -> None: ...


def sink_parser(sink: str) -> argparse.ArgumentParser:
    """The sink's own `mlc run SINK` parser (its options are the replay's sink options)."""
    adapter_module(sink)
    from mlc.cli import SERVICES

    module = importlib.import_module(SERVICES[sink])
    parser: argparse.ArgumentParser = module.parser()
    return parser


def adapter_module(sink: str) -> Any:
    if sink not in ADAPTERS:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownSinkError(f"unknown sink {sink!r} (replay knows: {known})")
    return importlib.import_module(ADAPTERS[sink])


def build_adapter(sink: str, context: ReplayContext) -> SinkReplay:
    adapter: SinkReplay = adapter_module(sink).build(context)
    return adapter


def prefixed(name: str, default: str, prefix: str) -> str:
    """A topic name the sink's options left at its default gets the run's prefix."""
    return prefix + name if name == default else name
