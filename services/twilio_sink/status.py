"""Applies Twilio's status callbacks (`twilio.message-status.v1`) to the delivery ledger.

Callbacks repeat and arrive out of order (a `delivered` before its `sent`), and one can
arrive before the sink has written the SID it belongs to. So each callback first updates
the message's own state (`TwilioMessageState`, compacted, keyed by SID, written before the
offset is committed): every status seen once, the most advanced one kept. A status seen for
the first time is audited (searchable by the SID, and by the Visma entity once the SID is
known); a repeat is not. Then the state is applied to the SMS ledger entry that holds the
SID: its `message_status` (and error) only advance, never back, whatever order the
callbacks came in.

The ledger entry belongs to the command's partition, which the SID does not tell; the SMS
ledger is read whole through a `CompactedView` (`SentMessages`) that indexes DONE entries by
SID and knows each entry's partition. After DONE the sink never writes an entry again, so
writing the status into it races with nothing. A state whose SID the ledger does not hold
yet is kept (in its topic, and in memory as unmatched) and applied by `sweep` once the
sink's DONE entry arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge

from chassis.audit import AuditTrail, Stage
from chassis.kafka.ledger import CommandLedger
from chassis.kafka.producer import ProduceError
from chassis.kafka.record import Record
from chassis.serde import AvroSerde
from chassis.settings import KafkaSettings
from events.twilio_deliveries import TwilioDelivery, TwilioDeliveryStatus
from events.twilio_status import TwilioMessageState, TwilioMessageStatus, advances

log = logging.getLogger(__name__)

TRANSITIONS = Counter(
    "mlc_twilio_status_transitions_total", "Message statuses seen for the first time", ["status"]
)
REPEATS = Counter("mlc_twilio_status_repeats_total", "Status callbacks seen before")
APPLIED = Counter("mlc_twilio_status_applied_total", "Statuses written into the SMS ledger")
UNMATCHED = Gauge(
    "mlc_twilio_status_unmatched", "Messages with a status whose SID the ledger does not hold"
)
TROUBLE = {"failed", "undelivered", "canceled"}


class SentMessages:
    """The SMS ledger's DONE entries by message SID, fed by a CompactedView's decode."""

    def __init__(self, serde: AvroSerde) -> None:
        self._serde = serde
        self._by_sid: dict[str, TwilioDelivery] = {}
        self._sid_of: dict[str, str] = {}

    def decode(self, raw: bytes) -> TwilioDelivery:
        entry = TwilioDelivery.from_record(self._serde.decode(raw)[1])
        self.add(entry)
        return entry

    def add(self, entry: TwilioDelivery) -> None:
        if entry.status is TwilioDeliveryStatus.DONE and entry.external_id:
            self._by_sid[entry.external_id] = entry
            self._sid_of[entry.command_id] = entry.external_id

    def remove(self, command_id: str) -> None:
        """The entry expired (the view's `on_removed`)."""
        sid = self._sid_of.pop(command_id, None)
        if sid is not None:
            self._by_sid.pop(sid, None)

    def find(self, sid: str) -> TwilioDelivery | None:
        return self._by_sid.get(sid)


class StatusApplier:
    """The runner's handler for status callbacks, keyed by SID (one SID's in order)."""

    def __init__(
        self,
        *,
        states: CommandLedger[TwilioMessageState],
        sent: SentMessages,
        ledger: CommandLedger[TwilioDelivery],
        partition_of: Callable[[str], int | None],
        audit: AuditTrail,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`states` keeps each SID's state; `ledger` writes SMS ledger entries (to the
        partition `partition_of` names for a command id: the view's)."""
        self._states = states
        self._sent = sent
        self._ledger = ledger
        self._partition_of = partition_of
        self._audit = audit
        self._clock = clock
        self._unmatched: set[str] = set()
        self._written: dict[str, str] = {}
        """SID -> the status last written, until the view has read it back."""

    async def __call__(self, record: Record) -> None:
        callback = TwilioMessageStatus.from_record(record.value)
        state = self._states.get(callback.message_sid)
        if state is not None and callback.status in state.seen:
            REPEATS.inc()
        else:
            now = self._clock()
            state = (
                TwilioMessageState.first(callback, at=now)
                if state is None
                else state.with_callback(callback, at=now)
            )
            self._audit_transition(callback)
            await self._states.write(state)
        await self.apply(callback.message_sid)

    async def apply(self, sid: str) -> bool:
        """Writes the SID's state into its ledger entry if that is further along; False
        while the ledger does not hold the SID (the state is kept as unmatched)."""
        entry = self._sent.find(sid)
        partition = None if entry is None else self._partition_of(entry.command_id)
        state = self._states.get(sid)
        if entry is None or partition is None or state is None:
            self._unmatched.add(sid)
            UNMATCHED.set(len(self._unmatched))
            return False
        self._unmatched.discard(sid)
        UNMATCHED.set(len(self._unmatched))
        # The newest state is read just before the write is sent (no await in between), and
        # states only advance: the writes reach the ledger topic in an order that only moves
        # forward. Until the view has read back this applier's last write, that write (not
        # the view's older entry) is what a status must advance to be written again.
        held = entry.message_status
        written = self._written.get(sid)
        if written is not None and advances(held, written):
            held = written
        else:  # the view has caught up with it
            self._written.pop(sid, None)
        if advances(held, state.status):
            updated = entry.model_copy(update={
                "message_status": state.status,
                "error_code": state.error_code if state.error_code is not None
                else entry.error_code,
                "error_message": state.error_message or entry.error_message,
                "at": self._clock(),
            })  # fmt: skip
            try:
                await self._ledger.write(updated, partition=partition)
            except ProduceError:
                self._unmatched.add(sid)  # the next sweep tries again
                raise
            self._written[sid] = state.status
            APPLIED.inc()
        return True

    async def sweep(self) -> int:
        """Applies the kept states whose SID the ledger now holds; returns how many."""
        applied = 0
        for sid in list(self._unmatched):
            if self._states.get(sid) is None:  # its partition was revoked, or it expired
                self._unmatched.discard(sid)
            elif await self.apply(sid):
                applied += 1
        UNMATCHED.set(len(self._unmatched))
        return applied

    async def sweep_every(self, seconds: float, stopping: asyncio.Event) -> None:
        """Sweeps until `stopping`; a sweep Kafka did not confirm is tried at the next one
        (its states stay unmatched), anything else ends the service."""
        while not stopping.is_set():
            try:
                await self.sweep()
            except ProduceError as exc:
                log.warning("status sweep not confirmed", extra={"error": str(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), seconds)

    def load(self, settings: KafkaSettings, partitions: Collection[int]) -> int:
        """The states of the assigned partitions; each is checked against the ledger by
        the next sweep (a state kept before a restart may have found its SID since)."""
        loaded = self._states.load(settings, partitions)
        self._unmatched.update(state.message_sid for state in self._states.entries())
        return loaded

    def forget(self, partitions: Collection[int]) -> None:
        self._states.forget(partitions)

    def _audit_transition(self, callback: TwilioMessageStatus) -> None:
        TRANSITIONS.labels(callback.status).inc()
        entry = self._sent.find(callback.message_sid)
        error = (
            f" (Twilio {callback.error_code}: {callback.error_message or 'no message'})"
            if callback.error_code is not None
            else ""
        )
        self._audit.record(
            Stage.FAILED if callback.status in TROUBLE else Stage.SENT,
            entity_id=entry.entity_id or callback.message_sid if entry else callback.message_sid,
            command_id=entry.command_id if entry else None,
            external_id=callback.message_sid,
            detail=f"twilio status {callback.status}{error}",
        )
