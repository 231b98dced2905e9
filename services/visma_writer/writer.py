"""Applies one ApplyVismaAction to Visma exactly once, whatever is redelivered or killed.

The steps, for one command:

1. The ledger (compacted, by command id) says DONE: nothing to do.
2. Read the invoice and its ETag. If the action is already in effect on it (released,
   voided, the note written...), write DONE and stop: a repeat never applies twice.
3. Write PENDING with the ETag about to be used, then apply with `If-Match` on it.
4. 412 (someone saved the invoice in between): read again, check again, retry, a bounded
   number of times. Success: DONE with the new ETag.
5. Tell the requester, when the command names a thread (`replies.py`): after DONE, also for a
   command the ledger already has as DONE, since the writer may have died between DONE and
   the reply; the reply's derived id lets the Slack sink drop the repeat.

A PENDING entry found at step 2 is an attempt that died between the call and DONE. The
record tells whether it took effect; for the few actions that leave no readable mark, the
ETag in the PENDING entry does: unchanged means the call never applied (any change bumps the
ETag), changed means nobody can tell from here, and the command goes to a human (DLQ).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from chassis.audit import AuditTrail, Stage
from chassis.errors import PermanentError
from events.commands import ApplyVismaAction
from events.deliveries import DeliveryStatus, SinkDelivery
from events.slack import PostSlackMessage
from visma_client import (
    SUPPLIER_INVOICE_ACTIONS,
    InvoiceVersion,
    VismaActionUnknown,
    VismaPreconditionFailed,
)
from visma_writer.effects import InEffect, in_effect_check
from visma_writer.ledger import (
    KeptChangingError,
    Ledger,
    UnknownCompanyError,
    ledger_entry,
)
from visma_writer.replies import Replies, applied_reply, failed_reply

SUPPLIER_INVOICE = "supplierInvoice"
log = logging.getLogger(__name__)


class Outcome(StrEnum):
    APPLIED = "applied"
    ALREADY_DONE = "already_done"
    """The ledger has the command as DONE."""
    ALREADY_IN_EFFECT = "already_in_effect"
    """The invoice already shows the action's effect."""


class InvoiceActions(Protocol):
    """The Visma side (`visma_client.SupplierInvoiceActions`)."""

    async def read(self, entity_id: str) -> InvoiceVersion: ...

    async def apply(
        self, entity_id: str, action: str, *, etag: str, comment: str = ""
    ) -> str | None: ...


class UnsupportedEntityError(PermanentError):
    """The writer applies actions to supplier invoices only."""


class OutcomeUnknownError(PermanentError):
    """An earlier attempt may or may not have applied the action; a human must look."""


class VismaWriter:
    def __init__(
        self,
        *,
        companies: Mapping[tuple[str, str], InvoiceActions],
        ledger: Ledger,
        audit: AuditTrail,
        replies: Replies,
        max_conflicts: int = 3,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._companies = companies
        self._ledger = ledger
        self._audit = audit
        self._replies = replies
        self._max_conflicts = max_conflicts
        self._clock = clock

    async def apply(self, command: ApplyVismaAction) -> Outcome:
        outcome = await self._apply_once(command)
        await self._tell(applied_reply(command, invoice=invoice_number(command)))
        return outcome

    async def give_up(self, command: ApplyVismaAction, reason: str) -> None:
        """Tells the requester the command will not be applied (it goes to the DLQ)."""
        await self._tell(failed_reply(command, invoice=invoice_number(command), reason=reason))

    async def _tell(self, reply: PostSlackMessage | None) -> None:
        if reply is not None:
            await self._replies.send(reply)

    async def _apply_once(self, command: ApplyVismaAction) -> Outcome:
        entry = self._ledger.get(command.command_id)
        if entry is not None and entry.status is DeliveryStatus.DONE:
            self._record(Stage.SKIPPED, command, entry.external_id, "already applied")
            return Outcome.ALREADY_DONE
        actions = self._actions_for(command)
        check = in_effect_check(command.action)
        version = await actions.read(visma_id(command))
        if entry is not None and check is None and version.etag != entry.external_id:
            raise OutcomeUnknownError(
                f"{command.action} on {command.entity_id} was interrupted and the invoice has "
                f"changed since (ETag {entry.external_id} -> {version.etag}); check it in Visma"
            )
        return await self._apply(command, actions, check, version, entry)

    async def _apply(
        self,
        command: ApplyVismaAction,
        actions: InvoiceActions,
        check: InEffect | None,
        version: InvoiceVersion,
        entry: SinkDelivery | None,
    ) -> Outcome:
        interrupted = entry is not None  # a PENDING entry from an earlier attempt
        for attempt in range(self._max_conflicts + 1):
            if check is not None and check(version.invoice, command.comment):
                return await self._found_in_effect(command, version, interrupted=interrupted)
            if entry is None or entry.external_id != version.etag:
                entry = await self._write(command, DeliveryStatus.PENDING, version.etag)
            try:
                etag = await actions.apply(
                    visma_id(command), command.action, etag=version.etag, comment=command.comment
                )
            except VismaPreconditionFailed:
                if check is None:
                    raise OutcomeUnknownError(
                        f"412 on {command.action} of {command.entity_id}: the invoice changed "
                        "and cannot show whether this action is among the changes"
                    ) from None
                self._record(
                    Stage.RETRIED, command, version.etag,
                    f"412 on attempt {attempt + 1}: the invoice changed since read; reading again",
                )  # fmt: skip
                version = await actions.read(visma_id(command))
                continue
            await self._write(command, DeliveryStatus.DONE, etag)
            self._record(Stage.SENT, command, etag, f"{command.action} applied: {command.comment}")
            return Outcome.APPLIED
        raise KeptChangingError(
            f"{command.entity_id} changed under {self._max_conflicts + 1} attempts of "
            f"{command.action}"
        )

    async def _found_in_effect(
        self, command: ApplyVismaAction, version: InvoiceVersion, *, interrupted: bool
    ) -> Outcome:
        await self._write(command, DeliveryStatus.DONE, version.etag)
        if interrupted:
            # Most likely our own call, answered just before the writer died.
            self._record(
                Stage.SENT, command, version.etag,
                f"{command.action} found in effect after an interrupted attempt",
            )  # fmt: skip
        else:
            self._record(
                Stage.SKIPPED, command, version.etag, f"{command.action} already in effect"
            )
        return Outcome.ALREADY_IN_EFFECT

    def _actions_for(self, command: ApplyVismaAction) -> InvoiceActions:
        if command.entity_type != SUPPLIER_INVOICE:
            raise UnsupportedEntityError(
                f"no Visma action support for {command.entity_type} ({command.entity_id})"
            )
        if command.action not in SUPPLIER_INVOICE_ACTIONS:
            known = ", ".join(sorted(SUPPLIER_INVOICE_ACTIONS))
            raise VismaActionUnknown(f"{command.action!r} is not one of {known}")
        actions = self._companies.get((command.tenant_id, command.company_id))
        if actions is None:
            raise UnknownCompanyError(
                f"no Visma credentials for company {command.tenant_id}/{command.company_id}"
            )
        return actions

    async def _write(
        self, command: ApplyVismaAction, status: DeliveryStatus, etag: str | None
    ) -> SinkDelivery:
        entry = ledger_entry(command, status, etag, at=self._clock())
        await self._ledger.write(entry)
        return entry

    def _record(
        self, stage: Stage, command: ApplyVismaAction, etag: str | None, detail: str
    ) -> None:
        log.info("visma action", extra={"stage": stage.value, "command_id": command.command_id})
        self._audit.record(
            stage,
            entity_id=command.entity_id,
            event_id=command.source_event_id,
            command_id=command.command_id,
            external_id=etag,
            detail=detail[:500],
        )


def visma_id(command: ApplyVismaAction) -> str:
    """The invoice's id in Visma (`Invoice:10042`) from the command's entity key.

    Commands carry the fact's key, `tenant/company/entityType/id`; a bare id is taken as is.
    """
    prefix = f"{command.tenant_id}/{command.company_id}/{command.entity_type}/"
    return command.entity_id.removeprefix(prefix)


def invoice_number(command: ApplyVismaAction) -> str:
    """The number a person knows the invoice by: `10042` of `Invoice:10042`."""
    return visma_id(command).rpartition(":")[2]
