"""What each supplier-invoice action does to a record, and the count of applied actions.

The public API offers ``release``, ``prebook``, ``reverse``, ``sendtoapproval``,
``voidinvoice`` and ``writeoff`` on ``/v1/supplierInvoice/{documentType}/{invoiceNumber}``
and ``release`` and ``correct`` on ``/v1/supplierInvoice/{invoiceNumber}``. The ERP's
own state machine is not published, so the transitions below are an ASSUMPTION that
follows the statuses the sandbox data uses (``Hold``/``OnHold``, ``Balanced``,
``PendingApproval``, ``Prebooked``, ``Open``, ``Closed``, ``Voided``, ``Rejected``). In
particular the API has no "approve" action: ``release`` of an invoice pending approval
approves it (``approvalStatus`` becomes ``Approved``) and opens it for payment.

An action on a record in a status it does not accept is refused (400, nothing changes,
nothing counted), so a client that repeats an action it already applied learns so
instead of applying it twice. The :class:`ActionLedger` counts applied actions per record
so a test can assert "released exactly once".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

DOCUMENT_ACTIONS = ("release", "prebook", "reverse", "sendtoapproval", "voidinvoice", "writeoff")
INVOICE_ACTIONS = ("release", "correct")

_EDITABLE = frozenset({"Hold", "OnHold", "Balanced", "Rejected"})


@dataclass(frozen=True)
class Transition:
    accepts: frozenset[str]
    status: str
    approval_status: str | None = None
    clears_balance: bool = False


TRANSITIONS: dict[str, Transition] = {
    "sendtoapproval": Transition(_EDITABLE, "PendingApproval", "Pending"),
    "release": Transition(
        frozenset({"Balanced", "PendingApproval", "Prebooked"}), "Open", "Approved"
    ),
    "prebook": Transition(_EDITABLE | {"PendingApproval"}, "Prebooked"),
    "voidinvoice": Transition(
        _EDITABLE | {"PendingApproval", "Prebooked"}, "Voided", clears_balance=True
    ),
    "writeoff": Transition(frozenset({"Open"}), "Closed", clears_balance=True),
    # The ERP books a reversing debit adjustment; the sandbox closes the original instead.
    "reverse": Transition(frozenset({"Open", "Closed"}), "Closed", clears_balance=True),
    # The ERP reverses the invoice and opens an editable copy; the sandbox reopens it for edit.
    "correct": Transition(frozenset({"Open"}), "Balanced", "Pending"),
}


class ActionRefused(ValueError):
    """The record's status does not accept the action."""


def updates_for(action: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The field changes ``action`` makes to an invoice with these fields."""
    transition = TRANSITIONS[action]
    status = str(fields.get("status", ""))
    if status not in transition.accepts:
        raise ActionRefused(
            f"The action {action} is not available for a document in status {status}."
        )
    updates: dict[str, Any] = {"status": transition.status}
    if transition.approval_status is not None:
        updates["approvalStatus"] = transition.approval_status
    if transition.clears_balance:
        updates["balance"] = 0.0
    return updates


@dataclass
class ActionLedger:
    """Applied actions per (company, entity id); refused or 412-failed ones do not count."""

    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def record(self, company: str, entity_id: str, action: str) -> None:
        self.counts[(company, entity_id, action)] += 1

    def for_record(self, company: str, entity_id: str) -> dict[str, int]:
        return {a: n for (c, e, a), n in self.counts.items() if (c, e) == (company, entity_id)}

    def as_list(self, company: str | None = None) -> list[dict[str, object]]:
        return [
            {"company": c, "entityId": e, "action": a, "count": n}
            for (c, e, a), n in sorted(self.counts.items())
            if company is None or c == company
        ]

    def clear(self) -> None:
        self.counts.clear()
