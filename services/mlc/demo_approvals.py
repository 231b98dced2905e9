"""The approvals part of `mlc demo`: people react in Slack, Visma acts once.

An approver (a Visma employee number in the approvals file) reacts on one posted invoice and
an employee who may not approve on another, through the sandbox's Slack, which delivers each
reaction to the ingress as the Events API does. The checks: Visma released the approved
invoice exactly once, the other reaction was recorded as not authorised and changed
nothing, and the approved message's thread got one reply, from the Visma writer once Visma
had released the invoice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from mlc.stack import Expected, FlowStack, command_ids

APPROVAL_TENANT = "tenant-se-1"
REACTION = "white_check_mark"
RELEASABLE = frozenset({"Balanced", "PendingApproval", "Prebooked"})
"""Statuses whose invoices the sandbox's `release` accepts (sandbox.visma.invoice_actions)."""
WAIT_SECONDS = 60.0
SETTLE_SECONDS = 3.0
"""Time for a repeated action or confirmation, if there were one, to show itself."""

T = TypeVar("T")


@dataclass(frozen=True)
class _Posted:
    message: dict[str, Any]
    invoice: dict[str, Any]

    @property
    def reference(self) -> str:
        return str(self.invoice["referenceNumber"])

    def where(self) -> str:
        return f"invoice {self.reference} in #{self.message['channel_name']}"


def approvals_file(people: list[dict[str, Any]]) -> dict[str, Any]:
    """The approvals file of the demo: the tenant's first employee may approve, nobody else."""
    approvers = [str(people[0]["employeeNumber"])] if people else ["nobody@example.com"]
    return {"tenants": [{"tenant_id": APPROVAL_TENANT, "approvers": approvers}]}


def check_approvals(
    stack: FlowStack, expected: Expected, posted: list[dict[str, Any]], people: list[dict[str, Any]]
) -> bool:
    print("\n== approvals from Slack ==")
    picks = _releasable(expected, posted)
    if len(people) < 2 or len(picks) < 2:
        print(
            f"check                      : FAILED: needs two employees of {APPROVAL_TENANT} with "
            f"an email and two posted invoices Visma can release (found {len(people)} and "
            f"{len(picks)}); try more --invoices"
        )
        return False
    approver, bystander = _email(people[0]), _email(people[1])
    approved, ignored = picks[0], picks[1]
    print(f"{bystander} (not an approver) reacts :{REACTION}: on {ignored.where()}")
    stack.react(ignored.message, bystander, REACTION)
    print(f"{approver} (approver) reacts :{REACTION}: on {approved.where()}")
    stack.react(approved.message, approver, REACTION)

    wait_for(stack, lambda: _actions(stack, approved).get("release"))
    wait_for(stack, lambda: stack.thread(approved.message))
    refused = wait_for(stack, lambda: _refused_signals(stack, ignored))
    httpx.post(f"{stack.base_url}/slack/_sandbox/events/drain", timeout=60).raise_for_status()
    time.sleep(SETTLE_SECONDS)
    return _report(stack, approved, ignored, refused)


def _report(
    stack: FlowStack, approved: _Posted, ignored: _Posted, refused: list[dict[str, Any]] | None
) -> bool:
    state = stack.invoice_actions(APPROVAL_TENANT, approved.reference)
    released = state["actions"] == {"release": 1}
    confirmations = stack.thread(approved.message)
    left_alone = not _actions(stack, ignored) and not stack.thread(ignored.message)
    not_authorised = bool(refused) and left_alone
    reason = (refused or [{}])[0].get("reason")
    said = confirmations[0]["text"] if confirmations else "none"
    confirmed = len(confirmations) == 1 and said.endswith("released in Visma.")
    print(
        f"approved invoice           : {_verdict(released)} actions {state['actions']} in Visma, "
        f"now {state['status']}/{state['approvalStatus']}"
    )
    print(
        f"non-approver's reaction    : {_verdict(not_authorised)} recorded as not authorised "
        f"({reason}), no Visma action, no reply"
    )
    print(f"thread confirmation        : {_verdict(confirmed)} {said!r}")
    print(f"audit chain                : mlc audit {approved.message['ts']}")
    return released and not_authorised and confirmed


def _releasable(expected: Expected, posted: list[dict[str, Any]]) -> list[_Posted]:
    """Top-level messages about distinct invoices of the tenant that Visma can release."""
    found: dict[str, _Posted] = {}
    for message in posted:
        for command_id in [] if message.get("thread_ts") else command_ids([message]):
            invoice = expected.invoices_by_command.get(command_id)
            if (
                invoice is not None
                and invoice["company"] == APPROVAL_TENANT
                and invoice.get("status") in RELEASABLE
            ):
                found.setdefault(str(invoice["referenceNumber"]), _Posted(message, invoice))
    return list(found.values())


def _refused_signals(stack: FlowStack, posted: _Posted) -> list[dict[str, Any]]:
    return [
        s
        for s in stack.approval_signals()
        if s["message_ts"] == posted.message["ts"] and not s["authorised"]
    ]


def _actions(stack: FlowStack, posted: _Posted) -> dict[str, int]:
    counts: dict[str, int] = stack.invoice_actions(APPROVAL_TENANT, posted.reference)["actions"]
    return counts


def _email(person: dict[str, Any]) -> str:
    return str(person["contact"]["email"])


def wait_for(
    stack: FlowStack, check: Callable[[], T], *, timeout: float = WAIT_SECONDS
) -> T | None:
    """The first truthy answer of check within `timeout` seconds, else None (the caller says
    what that means: the demo reports it, the e2e test fails)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        found = check()
        if found:
            return found
        time.sleep(0.5)
    return None


def _verdict(ok: bool) -> str:
    return "OK    " if ok else "FAILED"
