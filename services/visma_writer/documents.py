"""The writer's shared machinery for writes that make or change a Visma document.

Each kind of write (a purchase receipt now; suppliers, supplier invoices and supplier
payments next) is one `DocumentKind`: how to find the document an earlier attempt made, how
to read what the write goes to, what would conflict, and the write itself. Everything else
is here, once, for every kind:

1. The ledger (compacted, by command id) says DONE: nothing to do.
2. Lookup before create: the kind looks in Visma for the document carrying this command's
   reference. Found: DONE with its number. This is what makes a crash between Visma's answer
   and the ledger's DONE harmless: the repeat finds the document instead of making another.
3. Read the target and its ETag, and ask the kind what conflicts with the write. A conflict
   is never overwritten: its field-by-field differences go to the review topic and the audit
   trail, and the command is finished (DONE without a document).
4. PENDING with the ETag about to be used, then the write (with `If-Match` on that ETag
   where it updates). 412: audit, then back to step 2 (look up, read, check again), a bounded
   number of times. Success: DONE with the document's number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from chassis.audit import AuditTrail, Stage
from events.deliveries import DeliveryStatus, SinkDelivery
from events.visma_writes import FieldDifference, VismaWriteConflict
from visma_client import VismaClient, VismaPreconditionFailed
from visma_writer.ledger import (
    KeptChangingError,
    Ledger,
    LedgerCommand,
    UnknownCompanyError,
    ledger_entry,
)

log = logging.getLogger(__name__)


C = TypeVar("C", bound=LedgerCommand)
C_contra = TypeVar("C_contra", bound=LedgerCommand, contravariant=True)
S = TypeVar("S")


@dataclass(frozen=True)
class Target(Generic[S]):
    """What the write goes to, as just read: the kind's view of it and its ETag."""

    state: S
    etag: str | None
    document: str
    """How a person names it: `purchase order PO-2026-90001`."""


@dataclass(frozen=True)
class Written:
    """The document in Visma: its number (the ledger's external id) and how it was found."""

    number: str
    etag: str | None = None


@dataclass(frozen=True)
class Conflict:
    reason: str
    differences: list[FieldDifference]


class DocumentKind(Protocol[C_contra, S]):
    """One kind of write; stateless, given the company's client on each call."""

    name: str
    """The command's kind as the review names it (`RecordPurchaseReceipt`)."""

    async def find(self, visma: VismaClient, command: C_contra) -> Written | None:
        """The document an earlier attempt of `command` made, if Visma has one."""
        ...

    async def read(self, visma: VismaClient, command: C_contra) -> Target[S]: ...

    def conflict(self, command: C_contra, target: Target[S]) -> Conflict | None:
        """Why the write must not go ahead on this version of the target, if it must not."""
        ...

    async def write(self, visma: VismaClient, command: C_contra, target: Target[S]) -> Written:
        """Makes the write; a write that updates sends `If-Match` with `target.etag`."""
        ...


class Review(Protocol):
    """Where conflicts go for a person (`review.py`); `send` returns once it is durable."""

    async def send(self, event: VismaWriteConflict) -> None: ...


class DocumentWriter(Generic[C, S]):
    """Applies the commands of one kind, each exactly once (see the module docstring)."""

    def __init__(
        self,
        kind: DocumentKind[C, S],
        *,
        companies: Mapping[tuple[str, str], VismaClient],
        ledger: Ledger,
        audit: AuditTrail,
        review: Review,
        max_conflicts: int = 3,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._kind = kind
        self._companies = companies
        self._ledger = ledger
        self._audit = audit
        self._review = review
        self._max_conflicts = max_conflicts
        self._clock = clock

    async def apply(self, command: C) -> str | None:
        """The document's number once written (now or before); None after a conflict."""
        entry = self._ledger.get(command.command_id)
        if entry is not None and entry.status is DeliveryStatus.DONE:
            self._record(Stage.SKIPPED, command, entry.external_id, "already written")
            return entry.external_id
        visma = self._company(command)
        for attempt in range(self._max_conflicts + 1):
            found = await self._kind.find(visma, command)
            if found is not None:
                return await self._found(command, found, interrupted=entry is not None)
            target = await self._kind.read(visma, command)
            conflict = self._kind.conflict(command, target)
            if conflict is not None:
                await self._send_to_review(command, target, conflict)
                return None
            if entry is None or entry.external_id != target.etag:
                entry = await self._write_ledger(command, DeliveryStatus.PENDING, target.etag)
            try:
                written = await self._kind.write(visma, command, target)
            except VismaPreconditionFailed:
                self._record(
                    Stage.RETRIED, command, target.etag,
                    f"412 on attempt {attempt + 1}: {target.document} changed since read; "
                    "looking up and reading again",
                )  # fmt: skip
                continue
            await self._write_ledger(command, DeliveryStatus.DONE, written.number)
            self._record(Stage.SENT, command, written.number, f"{target.document}: written")
            return written.number
        raise KeptChangingError(
            f"{command.entity_id} changed under {self._max_conflicts + 1} attempts of "
            f"{self._kind.name}"
        )

    async def _found(self, command: C, found: Written, *, interrupted: bool) -> str:
        await self._write_ledger(command, DeliveryStatus.DONE, found.number)
        if interrupted:  # most likely our own write, answered just before the writer died
            detail = f"{found.number} found in Visma after an interrupted attempt"
            self._record(Stage.SENT, command, found.number, detail)
        else:
            self._record(Stage.SKIPPED, command, found.number, f"{found.number} already in Visma")
        return found.number

    async def _send_to_review(self, command: C, target: Target[S], conflict: Conflict) -> None:
        review = VismaWriteConflict(
            command_id=command.command_id,
            command=self._kind.name,
            tenant_id=command.tenant_id,
            company_id=command.company_id,
            entity_type=command.entity_type,
            entity_id=command.entity_id,
            document=target.document,
            reason=conflict.reason,
            differences=conflict.differences,
            etag=target.etag,
            rule=command.rule,
            source_event_id=command.source_event_id,
            detected_at=self._clock(),
        )
        await self._review.send(review)  # before DONE: a crash in between sends it again
        await self._write_ledger(command, DeliveryStatus.DONE, None)
        diffs = "; ".join(
            f"{d.field}: expected {d.expected}, found {d.found}" for d in conflict.differences
        )
        detail = f"not written, sent to review: {target.document}: {conflict.reason} ({diffs})"
        self._record(Stage.FAILED, command, target.etag, detail)

    def _company(self, command: C) -> VismaClient:
        visma = self._companies.get((command.tenant_id, command.company_id))
        if visma is None:
            raise UnknownCompanyError(
                f"no Visma credentials for company {command.tenant_id}/{command.company_id}"
            )
        return visma

    async def _write_ledger(
        self, command: C, status: DeliveryStatus, external_id: str | None
    ) -> SinkDelivery:
        entry = ledger_entry(command, status, external_id, at=self._clock())
        await self._ledger.write(entry)
        return entry

    def _record(self, stage: Stage, command: C, external_id: str | None, detail: str) -> None:
        log.info(
            "visma write",
            extra={"stage": stage.value, "command_id": command.command_id, "kind": self._kind.name},
        )
        self._audit.record(
            stage,
            entity_id=command.entity_id,
            event_id=command.source_event_id,
            command_id=command.command_id,
            external_id=external_id,
            detail=detail[:500],
        )
