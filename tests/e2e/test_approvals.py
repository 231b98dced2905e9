"""Approvals from Slack back to Visma, end to end: every service, the sandbox, a real broker.

An invoice is posted; a person who may not approve reacts first (logged, ignored), then an
approver reacts, a second approver reacts too, and the sandbox re-sends every event as a
Slack retry. Visma sees `release` applied exactly once, the thread gets one reply, from the
writer once Visma has taken it, and `mlc audit <ts>` shows the chain from the Visma fact to
the applied action.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mlc.demo_approvals import wait_for
from mlc.stack import FlowStack, command_ids, free_port
from processor.rules import load_rules
from tests.e2e.conftest import settle, wait_for_posts

pytestmark = pytest.mark.e2e

TENANT = "tenant-se-1"


def _employees(stack: FlowStack) -> list[dict[str, Any]]:
    people = stack.employees(TENANT)
    assert len(people) >= 3, "the seed needs two approvers and one bystander"
    return people


def _wait_until(what: str, check: Callable[[], Any], stack: FlowStack, timeout: float) -> Any:
    found = wait_for(stack, check, timeout=timeout)
    if not found:
        raise AssertionError(f"{what}: not within {timeout}s")
    return found


def _react(stack: FlowStack, message: dict[str, Any], email: str, reaction: str) -> str:
    body = stack.react(message, email, reaction)
    assert body["delivery"] is not None, "the sandbox delivered the event to the ingress"
    return str(body["event_id"])


def _audit(identifier: str, *, until: Callable[[list[str]], bool]) -> list[str]:
    """`mlc audit ID`, as an operator runs it, until the chain holds what the test waits for."""
    deadline = time.monotonic() + 60
    while True:
        result = subprocess.run(
            [sys.executable, "-m", "mlc.cli", "audit", identifier],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        lines = result.stdout.strip().splitlines()
        if result.returncode == 0 and until(lines):
            return lines
        assert time.monotonic() < deadline, result.stdout + result.stderr
        time.sleep(1.0)


def _released(stack: FlowStack, reference: str) -> dict[str, int]:
    counts: dict[str, int] = stack.invoice_actions(TENANT, reference)["actions"]
    return counts


def _where(lines: list[str], service: str, stage: str, text: str = "") -> int:
    """The index of the first audit line of this service and stage (containing text)."""
    for i, line in enumerate(lines):
        if line.split()[1:3] == [service, stage] and text in line:
            return i
    raise AssertionError(f"no {service} {stage} {text!r} in:\n" + "\n".join(lines))


def test_an_approvers_reaction_releases_the_invoice_once_and_a_bystanders_is_ignored(
    make_stack: Callable[..., FlowStack],
) -> None:
    stack = make_stack(invoices=0, ingress_port=free_port(),
                       entities=("supplierInvoice", "supplier", "employee"))  # fmt: skip
    stack.start_sandbox()
    approver, second_approver, bystander = _employees(stack)[:3]
    approvals = {
        "tenants": [{"tenant_id": TENANT, "approvers": [
            approver["employeeNumber"], second_approver["contact"]["email"],
        ]}]
    }  # fmt: skip
    invoice = httpx.post(
        f"{stack.base_url}/visma/_sandbox/invoices",
        json={"company": TENANT, "amount": "125000.00", "currency_id": "SEK"},
        timeout=10,
    ).json()
    expected = stack.expected(load_rules(stack.rules))
    # Every event is delivered, acknowledged, and delivered again as a Slack retry.
    stack.start_with_approvals(
        approvals, events={"duplicate_rate": 1.0, "retry_delays_seconds": [0, 1, 1]}
    )

    posted = wait_for_posts(stack, set(expected.commands), timeout=180)
    message = next(m for m in posted if command_ids([m]) and not m.get("thread_ts"))

    _react(stack, message, bystander["contact"]["email"], "white_check_mark")
    _react(stack, message, approver["contact"]["email"], "white_check_mark")
    _react(stack, message, second_approver["contact"]["email"], "heavy_check_mark")

    reference = invoice["referenceNumber"]
    _wait_until("release applied", lambda: _released(stack, reference).get("release"), stack, 120)
    confirmations = _wait_until(
        "a thread confirmation",
        lambda: stack.thread(message),
        stack, 60,
    )  # fmt: skip
    httpx.post(f"{stack.base_url}/slack/_sandbox/events/drain", timeout=120).raise_for_status()
    settle(stack, 5.0)

    assert _released(stack, reference) == {"release": 1}, "released exactly once"
    state = stack.invoice_actions(TENANT, reference)
    assert (state["status"], state["approvalStatus"]) == ("Open", "Approved")
    events = stack.get("/slack/_sandbox/events/stats")
    assert events["duplicated"] >= 3, "Slack re-sent the reactions"
    confirmations = stack.thread(message)
    assert len(confirmations) == 1, "one confirmation however many approvals and retries"
    text = confirmations[0]["text"]
    assert text.startswith("Approved by <@"), text
    assert text.endswith(f": invoice {reference} released in Visma."), "told after Visma took it"

    chain = _audit(
        str(message["ts"]),
        until=lambda lines: any(line.split()[1:3] == ["visma-writer", "sent"] for line in lines),
    )
    fact = _where(chain, "visma-poller", "read")
    routed = _where(chain, "processor", "routed")
    sent = _where(chain, "slack-sink", "sent")
    signal = _where(chain, "approvals", "read", "approve by")
    authorised = _where(chain, "approvals", "routed", "authorised")
    applied = _where(chain, "visma-writer", "sent", "release applied")
    assert fact < routed < sent < signal < authorised < applied
    _where(chain, "approvals", "skipped", "ignored: not an approver")
    # The sandbox refuses a second release of an open invoice, so "released once" alone could
    # hide a repeat: the writer itself must have applied one command, and nothing failed.
    assert sum(line.split()[1:3] == ["visma-writer", "sent"] for line in chain) == 1
    assert not [line for line in chain if "dead_lettered" in line or " failed " in line]
    for child in stack.children.values():
        log = child.log_path.read_text()
        for secret in ("mlc-demo-secret", "xoxb-mlc-demo-token", "mlc-demo-signing-secret"):
            assert secret not in log, f"{child.name} logged a secret"
