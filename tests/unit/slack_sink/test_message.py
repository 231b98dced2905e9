"""What the sink sends: one command's blocks with mentions, or a digest of many."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chassis.errors import PermanentError
from events import PostSlackMessage
from slack_sink import message

pytestmark = pytest.mark.unit

LINKED = json.dumps(
    [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Invoice 1*"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "<https://erp.example/c1/1|Open>"}],
        },
    ]
)


def _command(n: int, *, blocks_json: str | None = None, text: str = "") -> PostSlackMessage:
    return PostSlackMessage(
        command_id=f"cmd-{n}",
        tenant_id="t1",
        workspace="default",
        channel="ap",
        text=text or f"invoice {n}",
        blocks_json=blocks_json,
        rule="r",
        source_event_id=f"e-{n}",
        entity_type="supplierInvoice",
        entity_id=f"t1/c1/supplierInvoice/{n}",
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def test_a_single_message_keeps_its_blocks_and_adds_the_mentions() -> None:
    sent = message.single(_command(1, blocks_json=LINKED), ["U1", "U2"])
    assert sent.blocks is not None
    assert sent.blocks[:2] == json.loads(LINKED)
    assert sent.blocks[2]["text"]["text"] == "Approvers: <@U1> <@U2>"
    assert sent.text == "invoice 1\nApprovers: <@U1> <@U2>"
    assert sent.metadata.event_payload == {"command_id": "cmd-1"}


def test_a_single_message_without_blocks_or_mentions_is_its_text() -> None:
    sent = message.single(_command(1), [])
    assert (sent.text, sent.blocks, sent.thread_ts) == ("invoice 1", None, None)


def test_blocks_that_are_not_a_list_are_a_permanent_error() -> None:
    with pytest.raises(PermanentError):
        message.single(_command(1, blocks_json='{"type": "section"}'), [])


def test_a_digest_lists_every_command_in_order_with_its_link_and_mentions() -> None:
    commands = [_command(1, blocks_json=LINKED), _command(2), _command(3)]
    sent = message.digest(commands, {"cmd-2": ["U9"]})
    assert sent.metadata.event_payload == {"command_ids": ["cmd-1", "cmd-2", "cmd-3"]}
    assert sent.blocks is not None
    assert sent.blocks[0]["type"] == "header"
    assert "3 notifications" in sent.blocks[0]["text"]["text"]
    lines = sent.blocks[1]["text"]["text"].splitlines()
    assert lines == [
        "• invoice 1 <https://erp.example/c1/1|open>",
        "• invoice 2 <@U9>",
        "• invoice 3",
    ]


def test_a_long_digest_is_split_into_sections_slack_accepts() -> None:
    commands = [_command(n, text="x" * 400) for n in range(50)]
    sent = message.digest(commands, {})
    assert sent.blocks is not None
    sections = sent.blocks[1:]
    assert len(sections) > 1
    assert all(len(s["text"]["text"]) <= message.SECTION_CHARS for s in sections)
    assert sum(s["text"]["text"].count("• ") for s in sections) == 50
