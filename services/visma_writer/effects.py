"""Whether an action is already in effect on an invoice, judged from the invoice alone.

This is what makes a repeat harmless: a redelivered command, or one whose earlier attempt
died between the call and the ledger entry, finds its effect on the record and is not applied
again. The statuses follow the transitions the sandbox models (an assumption: Visma does not
publish its state machine). `reverse`, `writeoff` and `correct` leave no mark on the record
that tells our doing apart from anyone else's, so they have no check here: for them the writer
relies on the ETag it wrote down before the call (see `writer.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from visma_client import SupplierInvoiceStateDto
from visma_client.actions import NOTE

InEffect = Callable[[SupplierInvoiceStateDto, str], bool]
"""(invoice, comment) -> the action has already done its work on this invoice."""

_RELEASED = frozenset({"Open", "Closed"})


def _status_in(*statuses: str) -> InEffect:
    wanted = frozenset(statuses)
    return lambda invoice, _comment: invoice.status in wanted


def _note_is(invoice: SupplierInvoiceStateDto, comment: str) -> bool:
    return (invoice.note or "").strip() == comment.strip()


def _sent_to_approval(invoice: SupplierInvoiceStateDto, _comment: str) -> bool:
    return invoice.status == "PendingApproval" or invoice.approval_status == "Approved"


IN_EFFECT: dict[str, InEffect] = {
    "release": _status_in(*_RELEASED),
    "prebook": _status_in("Prebooked", *_RELEASED),
    "sendtoapproval": _sent_to_approval,
    "voidinvoice": _status_in("Voided"),
    NOTE: _note_is,
}


def in_effect_check(action: str) -> InEffect | None:
    """How to see `action` on a record, or None when the record cannot tell."""
    return IN_EFFECT.get(action)
