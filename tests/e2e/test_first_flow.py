"""Visma supplier invoices to Slack, end to end: every service, the sandbox, a real broker."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from chassis.build_version import build_version
from mlc.stack import FlowStack, command_ids
from processor.rules import load_rules
from tests.e2e.conftest import settle, wait_for_posts

pytestmark = pytest.mark.e2e


def test_every_invoice_at_or_above_a_threshold_is_posted_once_and_none_below(
    make_stack: Callable[..., FlowStack],
) -> None:
    stack = make_stack(invoices=12)
    stack.start_sandbox()
    rules = load_rules(stack.rules)
    expected = stack.expected(rules)
    assert expected.commands, "the seeded data must give the rules something to post"
    assert expected.below_threshold, "and something to leave out"
    # One forced 429 with Retry-After on the first invoice list call: it must be waited out.
    httpx.post(
        f"{stack.base_url}/visma/_sandbox/faults",
        json={"status": 429, "retry_after": 2, "times": 1, "path_prefix": "/v1/supplierInvoice"},
        timeout=10,
    ).raise_for_status()
    stack.start_services()

    wait_for_posts(stack, set(expected.commands), timeout=240)
    posted = settle(stack)

    ids = command_ids(posted)
    assert Counter(ids) == Counter(set(expected.commands)), "exactly the expected set, once each"
    assert {m["channel_name"] for m in posted} == set(expected.commands.values())
    for message in posted:
        assert message["channel_name"] == expected.commands[command_ids([message])[0]]
    visma = stack.get("/visma/_sandbox/stats")
    assert visma["faults_injected"] == 1, "the forced 429 was served and waited out"
    assert sum(visma["rate_limited"].values()) == 0, "the poller never ran over its budget"
    slack = stack.get("/slack/_sandbox/stats")
    assert sum(slack["rate_limited"].values()) == 0, "the sink never ran over 1/s per channel"
    # No service wrote a secret in clear in its log.
    for child in stack.children.values():
        log = child.log_path.read_text()
        for secret in ("mlc-demo-secret", "xoxb-mlc-demo-token"):
            assert secret not in log, f"{child.name} logged a secret"


def test_message_carries_vendor_amount_invoice_po_and_due_date(
    make_stack: Callable[..., FlowStack],
) -> None:
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    created = httpx.post(
        f"{stack.base_url}/visma/_sandbox/invoices",
        json={
            "company": "tenant-se-1",
            "amount": "125000.00",
            "currency": "SEK",
            "po_number": "PO-2026-04242",
            "due_date": "2026-12-31",
        },
        timeout=10,
    )
    created.raise_for_status()
    invoice = created.json()
    stack.start_services()
    expected = stack.expected(load_rules(stack.rules))
    posted = wait_for_posts(stack, set(expected.commands), timeout=120)
    text = " ".join(str(m["text"]) for m in posted)
    assert invoice["supplier"]["name"] in text
    assert "SEK 125,000.00" in text
    assert invoice["referenceNumber"] in text
    assert "PO-2026-04242" in text
    assert "2026-12-31" in text
    assert Decimal(str(invoice["amount"])) == Decimal("125000.00")

    # The audit trail, looked up by the Slack ts, shows the whole chain across services.
    ts = str(posted[0]["ts"])
    chain = _audit(ts)
    assert [line.split()[1:3] for line in chain] == [
        ["visma-poller", "read"],
        *[["processor", "routed"]] * len(posted),
        *[["slack-sink", "sent"]] * len(posted),
    ]
    assert ts in chain[-1] or any(ts in line for line in chain)
    # Each service wrote its build (this checkout: the package version and commit).
    assert all(line.endswith(f"  build={build_version()}") for line in chain), chain


def _audit(identifier: str) -> list[str]:
    """`mlc audit ID`, as an operator runs it, waiting briefly for the sink's last event."""
    deadline = time.monotonic() + 30
    while True:
        result = subprocess.run(
            [sys.executable, "-m", "mlc.cli", "audit", identifier],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        lines = result.stdout.strip().splitlines()
        if result.returncode == 0 and lines[-1].split()[1:3] == ["slack-sink", "sent"]:
            return lines
        assert time.monotonic() < deadline, result.stdout + result.stderr
        time.sleep(0.5)


def test_poller_killed_between_transactions_loses_and_repeats_nothing(
    make_stack: Callable[..., FlowStack],
) -> None:
    # Small pages make many transactions per poll, so the kills land between and inside them.
    stack = make_stack(invoices=40, page_size=5, poll_interval=1.0)
    stack.start_sandbox()
    expected = stack.expected(load_rules(stack.rules))
    stack.start_services()
    rng = random.Random(7)
    for _ in range(4):
        time.sleep(rng.uniform(1.0, 3.0))
        stack.children["visma-poller"].kill()
        stack.start("visma-poller")

    wait_for_posts(stack, set(expected.commands), timeout=300)
    ids = command_ids(settle(stack))
    assert Counter(ids) == Counter(set(expected.commands))


def test_sink_killed_mid_run_loses_and_repeats_nothing(
    make_stack: Callable[..., FlowStack],
) -> None:
    stack = make_stack(invoices=25)
    stack.start_sandbox()
    expected = stack.expected(load_rules(stack.rules))
    stack.start_services()
    deadline = time.monotonic() + 120
    while len(stack.posted()) < len(expected.commands) // 3:
        assert time.monotonic() < deadline, "the sink never got going"
        stack.check_alive()
        time.sleep(0.2)
    stack.children["slack-sink"].kill()
    stack.start("slack-sink")

    wait_for_posts(stack, set(expected.commands), timeout=300)
    ids = command_ids(settle(stack))
    assert Counter(ids) == Counter(set(expected.commands))
