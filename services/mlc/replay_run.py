"""One replay from plan to reset: read the window and the ledger, plan, then per mode act.

    dry-run         print the plan; nothing is called or changed (not even offsets)
    resend-missing  look up the missing searchable commands (read-only) and record the found
                    ones done in the sink's ledger; stop before any change if a missing
                    command cannot be searched; reset the group's offsets
    force           as resend-missing, and the chosen commands are repeated: each is audited
                    with the operator, its ledger entry tombstoned, then offsets reset

Every write is confirmed by Kafka before the next step, and the reset comes last: a replay
that stops half way leaves the group where it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TextIO

from chassis.audit import AUDIT_TOPIC, AuditTrail, Stage
from chassis.kafka.handling import handling
from chassis.kafka.producer import Delivery, EventProducer, confirm
from chassis.kafka.record import Record
from chassis.kafka.state import StateLoadError, read_newest, read_range
from chassis.serde import AvroSerde, SerdeError
from chassis.settings import KafkaSettings
from mlc.replay_contract import CommandLedgerTopic, ReplayCommand, SinkReplay
from mlc.replay_group import PartitionWindow, ReplayBroker
from mlc.replay_plan import (
    Action,
    KnownEntry,
    Planned,
    chosen,
    classify,
    counts,
    ledger_time,
    line,
    unmatched,
)
from mlc.replay_times import ReplayUsageError

CLIENT = "mlc-replay"


class Mode(StrEnum):
    DRY_RUN = "dry-run"
    RESEND_MISSING = "resend-missing"
    FORCE = "force"


@dataclass(frozen=True)
class ReplayRequest:
    mode: Mode
    since: datetime | None
    until: datetime | None
    offsets: dict[int | None, int]
    keys: tuple[str, ...] = ()
    operator: str = "unknown"
    confirm: Callable[[int], bool] = field(default=lambda count: False)
    """Asked with the number of commands to force; True to go on (`--yes` answers True)."""


@dataclass
class ReplayRun:
    adapter: SinkReplay
    broker: ReplayBroker
    settings: KafkaSettings
    serde: AvroSerde
    producer: EventProducer
    out: TextIO
    now: datetime

    async def run(self, request: ReplayRequest) -> int:
        """0 when done (or planned), 1 when the replay stopped before changing anything."""
        group, sink = self.adapter.group_id, self.adapter.sink
        self.broker.check_group(group, sink=sink, stopped=request.mode is not Mode.DRY_RUN)
        windows = self.broker.windows(
            group, [t.commands for t in self.adapter.topics], since=request.since,
            until=request.until, offsets=request.offsets, now=self.now,
        )  # fmt: skip
        plan = self.plan(windows)
        self._print_plan(plan, windows)
        if request.mode is Mode.DRY_RUN:
            self._say("dry run: nothing called, nothing changed (offsets included)")
            return 0
        forced = self._forced(plan, request)
        if forced is None:
            return 1
        forced_ids = {p.command.command_id for p in forced}
        stops = [
            p for p in plan if p.action is Action.STOP and p.command.command_id not in forced_ids
        ]
        if stops:
            self._stop(stops)
            return 1
        lookups = [
            p for p in plan if p.action is Action.LOOK_UP and p.command.command_id not in forced_ids
        ]
        found = await self._look_up(lookups)
        if forced:
            self._force(forced, request.operator)
        self.broker.check_group(group, sink=sink, stopped=True)
        reset = self.broker.reset(group, windows)
        self._say(
            f"reset {group} to the window's start on {reset} partition(s); "
            f"{found} of {len(lookups)} looked up found and recorded done, "
            f"{len(lookups) - found} not found (the sink sends them), {len(forced)} forced"
        )
        self._say(f"next: start {sink} (kubectl scale deployment/{sink} --replicas=1); it "
                  "skips every command its ledger shows done")  # fmt: skip
        return 0

    def plan(self, windows: Sequence[PartitionWindow]) -> list[Planned]:
        """Every command the reset makes the sink read again, classified."""
        plan: list[Planned] = []
        for topic in self.adapter.topics:
            mine = [w for w in windows if w.topic == topic.commands]
            if not mine or all(w.replayed_until <= w.start for w in mine):
                continue
            entries = self._ledger(topic, [w.partition for w in mine])
            stops = {w.partition: w.stop for w in mine}
            for command in self._commands(topic, mine):
                plan.append(classify(
                    command, entries.get(command.command_id), system=self.adapter.system,
                    unsearchable=self.adapter.searchable(command), expiry=self.adapter.expiry,
                    now=self.now, in_window=command.record.offset < stops[command.record.partition],
                ))  # fmt: skip
        return plan

    def _commands(
        self, topic: CommandLedgerTopic, windows: Sequence[PartitionWindow]
    ) -> list[ReplayCommand]:
        messages = read_range(
            self.settings, topic.commands, client=CLIENT,
            starts={w.partition: w.start for w in windows},
            stops={w.partition: w.replayed_until for w in windows},
        )  # fmt: skip
        commands = []
        for message in messages:
            raw = message.value()
            if not isinstance(raw, bytes):
                continue
            key = message.key()
            record = Record(
                topic=topic.commands, partition=message.partition() or 0,
                offset=message.offset() or 0,
                key=key.decode() if isinstance(key, bytes) else key, raw=raw,
                headers=[], timestamp_ms=message.timestamp()[1],
            )  # fmt: skip
            try:
                record.schema, record.value = self.serde.decode(raw)
                commands.append(self.adapter.decode(record))
            except (SerdeError, ValueError) as exc:
                raise ReplayUsageError(
                    f"{record.position} is not a command {self.adapter.sink} reads ({exc})"
                ) from exc
        return sorted(commands, key=lambda c: (c.record.partition, c.record.offset))

    def _ledger(self, topic: CommandLedgerTopic, partitions: list[int]) -> dict[str, KnownEntry]:
        """The newest entry of each command, as the sink loads its ledger."""
        try:
            newest = read_newest(self.settings, topic.ledger, client=CLIENT, partitions=partitions)
        except StateLoadError as exc:
            raise ReplayUsageError(f"cannot read the ledger {topic.ledger}: {exc}") from exc
        entries = {}
        for key, stored in newest.items():
            if stored.value is None:
                continue  # a tombstone: no entry
            _, fields = self.serde.decode(stored.value)
            state = self.adapter.ledger_state(topic, fields)
            entries[key] = KnownEntry(state, ledger_time(fields))
        return entries

    def _print_plan(self, plan: Sequence[Planned], windows: Sequence[PartitionWindow]) -> None:
        shown = [p for p in plan if p.in_window]
        for planned in shown:
            self._say(line(planned))
        after = [p for p in plan if not p.in_window]
        self._say(f"{len(shown)} commands in the window of {self.adapter.sink} "
                  f"(group {self.adapter.group_id}): {counts(shown)}")  # fmt: skip
        if after:
            self._say(f"{len(after)} more after --to are read again too: {counts(after)}")

    def _forced(self, plan: Sequence[Planned], request: ReplayRequest) -> list[Planned] | None:
        if request.mode is not Mode.FORCE:
            return []
        missing = unmatched(plan, request.keys)
        if missing:
            raise ReplayUsageError(f"--key {missing[0]}: no such command in the window")
        forced = chosen(plan, request.keys)
        if not request.confirm(len(forced)):
            self._say("not confirmed: nothing changed")
            return None
        return forced

    def _stop(self, stops: Sequence[Planned]) -> None:
        for planned in stops:
            self._say(f"stopped: {planned.command.command_id} has no ledger entry and "
                      f"{planned.detail.split(' and ', 1)[-1]}")  # fmt: skip
        keys = " ".join(f"--key {p.command.command_id}" for p in stops[:3])
        self._say(
            f"replay stopped before changing anything: {len(stops)} command(s) without a "
            f"ledger entry cannot be looked for in their system, so sending them may repeat "
            f"them. To send them anyway: --mode force {keys}{' ...' if len(stops) > 3 else ''}"
        )

    async def _look_up(self, lookups: Sequence[Planned]) -> int:
        """Each missing command looked for (reads only); the found ones recorded done."""
        audit = self._audit()
        found = 0
        for planned in lookups:
            command = planned.command
            external_id = await self.adapter.find(command)
            if external_id is None:
                self._say(f"{line(planned)} -> not found: the sink sends it")
                continue
            with handling([command.record]):
                await self.adapter.record_found(command, external_id)
            confirm([audit.record(
                Stage.SKIPPED, entity_id=command.entity_id, event_id=command.event_id,
                command_id=command.command_id, external_id=external_id,
                detail=f"found by replay in {self.adapter.system} as {external_id}: "
                "recorded done, not sent again",
            )])  # fmt: skip
            found += 1
            self._say(f"{line(planned)} -> found as {external_id}: recorded done")
        return found

    def _force(self, forced: Sequence[Planned], operator: str) -> None:
        """Audits who forced what, then tombstones the ledger entries so the sink repeats them."""
        audit = self._audit()
        ledgers = {t.commands: t.ledger for t in self.adapter.topics}
        written: list[Delivery] = [
            audit.record(
                Stage.RETRIED, entity_id=p.command.entity_id, event_id=p.command.event_id,
                command_id=p.command.command_id, external_id=p.external_id,
                detail=f"forced by {operator} (mlc replay {self.adapter.sink} --mode force): "
                f"{self.adapter.system} side effect repeated"
                + (f", was done as {p.external_id}" if p.external_id else ""),
            )
            for p in forced
        ]  # fmt: skip
        confirm(written)
        confirm([
            self.producer.send(
                ledgers[p.command.record.topic], key=p.command.command_id, value=None,
                partition=p.command.record.partition,
            )
            for p in forced
        ])  # fmt: skip
        for planned in forced:
            self._say(f"forced: {planned.command.command_id} (audited, operator {operator})")

    def _audit(self) -> AuditTrail:
        producer = self.producer
        return AuditTrail(
            service=CLIENT, serde=self.serde,
            publish=lambda key, value: producer.send(AUDIT_TOPIC.name, key=key, value=value),
        )  # fmt: skip

    def _say(self, text: str) -> None:
        print(text, file=self.out)


def run_replay(replay: ReplayRun, request: ReplayRequest) -> int:
    async def go() -> int:
        try:
            return await replay.run(request)
        finally:
            await replay.adapter.aclose()

    return asyncio.run(go())
