"""One Slack message per document per channel, end to end (issue 10 item 6).

An invoice above both thresholds is posted to two channels; an approver's reaction releases
it in Visma, which makes a new version of the invoice. The poller reads that version, the
processor routes it to the same two channels, and the sink updates each channel's message in
place (chat.update): no second top-level post anywhere, the message shows the released status, and
its metadata lists both versions' command ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mlc.stack import FlowStack, command_ids, free_port
from processor.rules import load_rules
from tests.e2e.conftest import wait_for_posts
from tests.e2e.test_approvals import TENANT, _employees, _react, _released

pytestmark = pytest.mark.e2e


def _top_level(stack: FlowStack) -> list[dict[str, Any]]:
    posted: list[dict[str, Any]] = stack.get("/slack/_sandbox/messages?from_bot=true")
    return [m for m in posted if not m.get("thread_ts")]


def _status(message: dict[str, Any]) -> str:
    """The Status field of the message's Block Kit section."""
    for field in message["blocks"][0]["fields"]:
        label, _, value = field["text"].partition("\n")
        if label == "*Status*":
            return str(value)
    raise AssertionError(f"no Status in {message['blocks']}")


def test_the_released_version_updates_each_channels_message_in_place(
    make_stack: Callable[..., FlowStack],
) -> None:
    stack = make_stack(invoices=0, ingress_port=free_port(), poll_interval=2.0,
                       entities=("supplierInvoice", "supplier", "employee"))  # fmt: skip
    stack.start_sandbox()
    approver, second_approver = _employees(stack)[:2]
    approvals = {"tenants": [{"tenant_id": TENANT, "approvers": [
        approver["employeeNumber"], second_approver["contact"]["email"]]}]}  # fmt: skip
    invoice = httpx.post(
        f"{stack.base_url}/visma/_sandbox/invoices",
        json={"company": TENANT, "amount": "125000.00", "currency_id": "SEK"},
        timeout=10,
    ).json()
    expected = stack.expected(load_rules(stack.rules))
    stack.start_with_approvals(approvals)
    wait_for_posts(stack, set(expected.commands), timeout=180)
    first = _top_level(stack)
    assert sorted(m["channel_name"] for m in first) == ["ap-approvals", "ap-large"]

    _react(stack, first[0], approver["contact"]["email"], "white_check_mark")

    deadline = time.monotonic() + 120
    while not all(m["edited_ts"] for m in _top_level(stack)):
        assert time.monotonic() < deadline, "the new version never reached the messages"
        assert _released(stack, invoice["referenceNumber"]).get("release", 0) <= 1
        stack.check_alive()
        time.sleep(0.5)
    now = _top_level(stack)
    assert [(m["channel"], m["ts"]) for m in now] == [(m["channel"], m["ts"]) for m in first]
    for message in now:
        ids = command_ids([message])
        # The first version's command and the released one's, each once.
        assert len(ids) == len(set(ids)) == 2, (ids, message["metadata"])
        assert set(ids) & set(expected.commands)
        before = next(m for m in first if m["ts"] == message["ts"])
        assert _status(message) == "Open", message["blocks"]  # released
        assert _status(before) != "Open", before["blocks"]
    stats = stack.get("/slack/_sandbox/stats")
    assert stats["updated"] == {"ap-approvals": 1, "ap-large": 1}, stats
