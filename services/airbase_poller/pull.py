"""One pull of one Airbase tenant: its `sync_ready` payments as facts, each version once.

Airbase has no change feed for ledger entries: an entry is listed as `sync_ready` until it
is marked synced (after its Visma payment), so every pull lists every payment not yet
posted. A pull:

1. reads every page of the list before publishing anything. Publishing leads to marking
   entries synced, and a marked entry leaves the list at once, which shifts the later pages
   under a reader: one that published while paging would skip entries. What a shift skips
   anyway (the sink marks entries of an earlier pull meanwhile) is still `sync_ready` and
   read by the next pull;
2. keeps the payment entries (`type` in `payment_types`) and, for each entry new or changed
   since the version the poller published (`events.airbase_polls`), reads the bill it pays
   for the bill's `erp_reference_id` (our Visma invoice key);
3. publishes each new version's `AirbasePaymentReady`, its `read` audit event and the entry's
   new memory record in ONE Kafka transaction per batch: a crash before a commit loses the
   batch and its memory together, and the next pull publishes them again, once.

An entry seen again unchanged costs no call and publishes nothing; an entry whose content
changed (amount, lines, vendor, the bill's reference) is published with its new version.

The pull spends the token's hourly allowance (Airbase's `X-Ratelimit-Remaining`) down to
`reserve_calls` at most, which it leaves to the airbase-sink: at or below it a pull reads its
first page only (one call a pull is how it learns that the hour turned), no further page and
no bill; entries it could not finish wait for the next pull.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter

from airbase_poller.source import AirbaseSource
from chassis.audit import AuditTrail, Stage
from chassis.kafka.transactions import Outgoing, Transactions
from chassis.serde import AvroSerde
from events.airbase import AirbasePaymentReady, Via, paid_bill_id, payment_key
from events.airbase_polls import AirbasePolledEntry

log = logging.getLogger(__name__)

PUBLISHED = Counter(
    "mlc_airbase_payments_published_total", "Payment versions published", ["tenant", "via"]
)
UNUSABLE = Counter(
    "mlc_airbase_entries_unusable_total",
    "Payment entries the fact cannot hold (logged with the reason each pull)", ["tenant"],
)  # fmt: skip
FORGOTTEN = Counter(
    "mlc_airbase_entries_forgotten_total",
    "Published entries forgotten after forget_after_days unlisted (synced in Airbase)",
    ["tenant"],
)
BUDGET_STOPS = Counter(
    "mlc_airbase_pulls_budget_stopped_total",
    "Pulls not started or cut short: the token's remaining calls reached the reserve",
    ["tenant"],
)


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    company_id: str


@dataclass(frozen=True)
class PollerTopics:
    payments: str
    memory: str
    audit: str


@dataclass(frozen=True)
class PullResult:
    listed: int
    """Entries listed (every type)."""
    published: int
    """Payment versions published."""
    budget_stopped: bool = False
    """The pull left entries because the token's remaining calls reached the reserve."""
    listing_calls: int = 0
    """Calls the list took (its pages): what a pull costs when nothing is new."""


@dataclass(frozen=True)
class EntryRecords:
    """What one entry's pull writes: its new memory, and its fact when the version is new."""

    memory: AirbasePolledEntry
    outgoing: list[Outgoing]
    new_version: bool


def entry_digest(entry: dict[str, Any]) -> str:
    """A digest of the entry's JSON as read: unchanged, nothing about it needs a call."""
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class TenantPuller:
    def __init__(
        self,
        *,
        tenant: Tenant,
        source: AirbaseSource,
        transactions: Transactions,
        serde: AvroSerde,
        audit: AuditTrail,
        topics: PollerTopics,
        memory: dict[str, AirbasePolledEntry],
        payment_types: Sequence[str] = ("bill_payment",),
        reserve_calls: int = 100,
        batch_size: int = 100,
        forget_after: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`memory` (key `<tenant>/<entry id>`) is shared and kept up to date with every
        commit; an entry no complete pull has listed for `forget_after` is forgotten."""
        self.tenant = tenant
        self._source = source
        self._transactions = transactions
        self._serde = serde
        self._audit = audit
        self._topics = topics
        self._memory = memory
        self._payment_types = frozenset(payment_types)
        self._reserve = reserve_calls
        self._batch_size = batch_size
        self._forget_after = forget_after
        self._absent_since: dict[str, datetime] = {}
        self._clock = clock

    def calls_made(self) -> int:
        """Requests this tenant's Airbase has been sent so far."""
        return self._source.calls_made()

    async def renew_credentials(self) -> bool:
        """Reads the tenant's token again; True when it changed."""
        return await self._source.renew_credentials()

    def _spent(self) -> bool:
        remaining = self._source.remaining_calls()
        return remaining is not None and remaining <= self._reserve

    async def pull(self, via: Via) -> PullResult:
        # No check before the first page: what the last answer said may be an hour old, and
        # only a call tells whether the allowance came back (a spent one answers 429).
        before = self.calls_made()
        entries, listed, stopped = await self._read_all()
        listing_calls = self.calls_made() - before
        batch: list[Outgoing] = []
        memories: list[AirbasePolledEntry] = []
        published = 0
        for entry in entries.values():
            bill_id = paid_bill_id(entry)
            digest = entry_digest(entry)
            if not self._changed(entry, digest=digest, bill_id=bill_id):
                continue
            if bill_id is not None and self._spent():
                stopped = True  # its bill cannot be read now: the next pull finishes it
                break
            bill = None if bill_id is None else await self._source.bill(bill_id)
            records = self._records(entry, bill=bill, digest=digest, via=via)
            if records is None:
                continue
            batch.extend(records.outgoing)
            memories.append(records.memory)
            published += 1 if records.new_version else 0
            if len(memories) >= self._batch_size:
                await self._commit(batch, memories)
                batch, memories = [], []
        if memories:
            await self._commit(batch, memories)
        if not stopped:  # a complete list: what it did not hold has left, or was shifted past
            await self._forget_absent(listed_ids=set(entries))
        if stopped:
            BUDGET_STOPS.labels(self.tenant.tenant_id).inc()
        PUBLISHED.labels(self.tenant.tenant_id, via).inc(published)
        return PullResult(listed=listed, published=published, budget_stopped=stopped,
                          listing_calls=listing_calls)  # fmt: skip

    async def _read_all(self) -> tuple[dict[str, dict[str, Any]], int, bool]:
        """Every page first (see the module's docstring); the payment entries by id (one
        listed twice by a shifting page counts once), how many were listed, and whether the
        allowance cut the reading short."""
        payments: dict[str, dict[str, Any]] = {}
        listed = 0
        async for entry in self._source.sync_ready_entries():
            listed += 1
            if entry.get("type") in self._payment_types and entry.get("airbase_id") is not None:
                payments[str(entry["airbase_id"])] = entry
            if self._spent():
                return payments, listed, True
        return payments, listed, False

    def _changed(self, entry: dict[str, Any], *, digest: str, bill_id: str | None) -> bool:
        known = self._memory.get(payment_key(self.tenant.tenant_id, str(entry["airbase_id"])))
        if known is None or known.entry_digest != digest:
            return True
        # A bill without its Visma reference yet is read again until it has one.
        return bill_id is not None and known.bill_ref is None

    def _records(
        self, entry: dict[str, Any], *, bill: dict[str, Any] | None, digest: str, via: Via
    ) -> EntryRecords | None:
        """The entry's new memory and what to publish with it (the memory alone when the
        content is the version already published); None for an entry the fact cannot hold."""
        tenant = self.tenant
        try:
            fact = AirbasePaymentReady.from_airbase(
                entry, bill=bill, tenant_id=tenant.tenant_id, company_id=tenant.company_id,
                observed_at=self._clock(), via=via,
            )  # fmt: skip
        except ValueError as exc:
            UNUSABLE.labels(tenant.tenant_id).inc()
            log.error("payment entry not published: the fact cannot hold it", extra={
                "tenant": tenant.tenant_id, "entry": entry.get("airbase_id"),
                "error": str(exc).splitlines()[0]})  # fmt: skip
            return None
        memory = AirbasePolledEntry(
            tenant_id=tenant.tenant_id, entry_id=fact.entry_id, version=fact.version,
            entry_digest=digest, bill_ref=fact.bill_ref, published_at=self._clock(),
        )  # fmt: skip
        outgoing: list[Outgoing] = [
            (self._topics.memory, memory.key, self._serde.encode(memory.SCHEMA, memory.to_record()))
        ]
        known = self._memory.get(memory.key)
        if known is not None and known.version == fact.version:
            return EntryRecords(memory, outgoing, new_version=False)
        audit_key, audit = self._audit.event(
            Stage.READ, entity_id=fact.key, event_id=fact.event_id,
            detail=f"{fact.entry_type} {fact.amount} {fact.currency} ready in Airbase ({via})",
        )  # fmt: skip
        value = self._serde.encode(fact.SCHEMA, fact.to_record())
        facts: list[Outgoing] = [
            (self._topics.payments, fact.key, value),
            (self._topics.audit, audit_key, audit),
        ]
        return EntryRecords(memory, [*facts, *outgoing], new_version=True)

    async def _forget_absent(self, *, listed_ids: set[str]) -> None:
        """Forgets the entries no complete pull listed for `forget_after` (one tombstone each,
        one transaction). An entry is absent once it is marked synced, or for one pull when a
        shifting page skipped it: only a long absence is the first. Should a forgotten entry
        come back unchanged, it is published again under the same event id, which consumers
        already hold."""
        now = self._clock()
        mine = f"{self.tenant.tenant_id}/"
        for key in [k for k in self._memory if k.startswith(mine)]:
            if key.removeprefix(mine) in listed_ids:
                self._absent_since.pop(key, None)
            else:
                self._absent_since.setdefault(key, now)
        gone = [k for k, since in self._absent_since.items() if now - since >= self._forget_after]
        if not gone:
            return
        await self._transactions.publish([(self._topics.memory, key, None) for key in gone])
        for key in gone:
            self._memory.pop(key, None)
            del self._absent_since[key]
        FORGOTTEN.labels(self.tenant.tenant_id).inc(len(gone))

    async def _commit(self, batch: list[Outgoing], memories: list[AirbasePolledEntry]) -> None:
        await self._transactions.publish(batch)
        for memory in memories:
            self._memory[memory.key] = memory
