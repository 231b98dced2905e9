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
from pathlib import Path
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
    # The reacted-on message also shows who approved it, whichever came first: the writer's
    # confirmation (which names the approver) or the released version.
    reacted = first[0]
    deadline = time.monotonic() + 60
    while not _approver_line(message := _message_at(stack, reacted)):
        assert time.monotonic() < deadline, ("no Approved by line", message["blocks"])
        stack.check_alive()
        time.sleep(0.5)
    [confirmation] = [
        m for m in stack.get("/slack/_sandbox/messages?from_bot=true")
        if m.get("thread_ts") == reacted["ts"] and m["channel"] == reacted["channel"]
    ]  # fmt: skip
    approver_id = confirmation["text"].split("<@", 1)[1].split(">", 1)[0]
    assert _approver_line(message) == f"Approved by <@{approver_id}>"
    assert f"Approved by <@{approver_id}>" in message["text"]
    assert _status(message) == "Open", message["blocks"]  # and still the released version
    assert len(command_ids([message])) == 2, message["metadata"]
    assert len(_top_level(stack)) == 2  # still one per channel
    other = next(m for m in _top_level(stack) if m["ts"] != reacted["ts"])
    assert _approver_line(other) is None  # the confirmation is in the reacted-on thread only
    stats = stack.get("/slack/_sandbox/stats")
    # The reacted-on message: the released version and the approver line, in either order.
    assert stats["updated"] == {reacted["channel_name"]: 2, other["channel_name"]: 1}, stats


def _message_at(stack: FlowStack, where: dict[str, Any]) -> dict[str, Any]:
    return next(
        m for m in _top_level(stack) if (m["channel"], m["ts"]) == (where["channel"], where["ts"])
    )


def _approver_line(message: dict[str, Any]) -> str | None:
    """The text of the message's "Approved by" context block, if it has one."""
    for block in message.get("blocks") or []:
        if block.get("type") == "context" and block.get("block_id") == "mlc-approved-by":
            return str(block["elements"][0]["text"])
    return None


THRESHOLD_RULES = """\
rules:
  - name: every-invoice
    when: {min_amount: {SEK: 10000}}
    targets:
      - slack: {channel: ap-approvals}          # on_change: update, the default
  - name: raised-above-100k
    when: {min_amount: {SEK: 100000}}
    targets:
      - slack: {channel: ap-approvals, on_change: thread}
        template: "Amount now {{ money(amount, currency) }}"
"""


def test_an_amount_raised_above_a_thread_rules_threshold_replies_in_the_messages_thread(
    make_stack: Callable[..., FlowStack], tmp_path: Path
) -> None:
    """The acceptance's last clause: a rule that asks for a new post on an amount change
    (`on_change: thread` on a rule matching amounts above a threshold) posts in the thread of
    the document's message, while the base rule updates that message in place."""
    rules = tmp_path / "threshold-rules.yaml"
    rules.write_text(THRESHOLD_RULES)
    stack = make_stack(invoices=0, poll_interval=2.0, rules=rules)
    stack.start_sandbox()
    invoice = httpx.post(
        f"{stack.base_url}/visma/_sandbox/invoices",
        json={"company": TENANT, "amount": "20000.00", "currency_id": "SEK"},
        timeout=10,
    ).json()
    expected = stack.expected(load_rules(rules))
    assert sorted(expected.commands.values()) == ["ap-approvals"]  # below the threshold
    stack.start_services()
    wait_for_posts(stack, set(expected.commands), timeout=180)
    [first] = _top_level(stack)

    changed = httpx.patch(
        f"{stack.base_url}/visma/_sandbox/invoices/{TENANT}/{invoice['referenceNumber']}",
        json={"amount": "150000.00"},
        timeout=10,
    )
    changed.raise_for_status()
    raised = set(stack.expected(load_rules(rules)).commands) - set(expected.commands)
    assert len(raised) == 2  # the new version, for each rule
    posted = wait_for_posts(stack, raised, timeout=120)

    [now] = _top_level(stack)
    assert (now["channel"], now["ts"]) == (first["channel"], first["ts"])
    assert now["edited_ts"], "the base rule's version did not update the message in place"
    assert "150" not in first["text"], first["text"]
    assert "150" in now["text"], now["text"]
    replies = [m for m in posted if m.get("thread_ts")]
    assert [(m["thread_ts"], m["channel"]) for m in replies] == [(first["ts"], first["channel"])]
    assert replies[0]["text"].startswith("Amount now"), replies[0]["text"]
    assert set(command_ids(replies)) < raised  # one of the new version's two commands
    stats = stack.get("/slack/_sandbox/stats")
    assert stats["updated"] == {"ap-approvals": 1}, stats
