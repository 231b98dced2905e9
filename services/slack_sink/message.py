"""What the sink sends to Slack for one command, or for a digest of several.

Plain functions: the Block Kit comes from the processor (`blocks_json`); the sink adds the
approvers' mentions, and for a channel that fell behind folds many commands into one digest
message whose metadata lists every command id, so an interrupted digest is found again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chassis.errors import PermanentError
from events import PostSlackMessage
from slack_client.models import MessageMetadata

_LINK = re.compile(r"<(https?://[^|>\s]+)\|")
METADATA_EVENT_TYPE = "mlc_command"
METADATA_KEYS = ("command_id", "command_ids")
"""A single post carries `command_id`; a digest carries `command_ids` (a list)."""
SECTION_CHARS = 2900  # Slack allows 3000 characters in a section's text
MAX_SECTIONS = 45  # of Slack's 50 blocks per message, leaving room for the header


@dataclass(frozen=True)
class SlackMessage:
    text: str
    blocks: list[dict[str, Any]] | None
    metadata: MessageMetadata
    thread_ts: str | None = None


def single(command: PostSlackMessage, mentions: Sequence[str]) -> SlackMessage:
    blocks = _blocks(command.blocks_json)
    text = command.text
    if mentions:
        line = "Approvers: " + " ".join(f"<@{user}>" for user in mentions)
        text = f"{text}\n{line}"
        if blocks is not None:
            blocks = [*blocks, {"type": "section", "text": {"type": "mrkdwn", "text": line}}]
    return SlackMessage(
        text=text,
        blocks=blocks,
        metadata=MessageMetadata(
            event_type=METADATA_EVENT_TYPE, event_payload={"command_id": command.command_id}
        ),
        thread_ts=command.thread_ts,
    )


APPROVED_BY_BLOCK = "mlc-approved-by"
"""block_id of the context block saying who approved the document a message shows."""


def with_approver(
    text: str, blocks: list[dict[str, Any]] | None, user_id: str
) -> tuple[str, list[dict[str, Any]]]:
    """The message's text and blocks with one "Approved by <@user>" line (a context block):
    an earlier such line is replaced, so applying it twice gives the same message."""
    line = f"Approved by <@{user_id}>"
    kept = [b for b in blocks or [] if b.get("block_id") != APPROVED_BY_BLOCK]
    if not kept:
        kept = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    context = {
        "type": "context",
        "block_id": APPROVED_BY_BLOCK,
        "elements": [{"type": "mrkdwn", "text": line}],
    }
    lines = [t for t in text.split("\n") if not t.startswith("Approved by <@")]
    return "\n".join([*lines, line]), [*kept, context]


def versions_metadata(shown: Sequence[str]) -> MessageMetadata:
    """Metadata of a document's message after an update: every command id (version) it has
    shown, the newest last, as a digest lists its commands, so each is found and counted."""
    return MessageMetadata(
        event_type=METADATA_EVENT_TYPE, event_payload={"command_ids": list(shown)}
    )


def digest(
    commands: Sequence[PostSlackMessage], mentions: Mapping[str, Sequence[str]]
) -> SlackMessage:
    """One message standing for `commands` (in order); `mentions` by command id."""
    title = f"{len(commands)} notifications in one digest: this channel had fallen behind"
    lines = [_line(c, mentions.get(c.command_id, ())) for c in commands]
    sections = [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
        for chunk in _chunks(lines, SECTION_CHARS)
    ]
    if len(sections) > MAX_SECTIONS:
        raise PermanentError(f"a digest of {len(commands)} commands does not fit one message")
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}, *sections]
    return SlackMessage(
        text=f"{title}\n" + "\n".join(lines),
        blocks=blocks,
        metadata=MessageMetadata(
            event_type=METADATA_EVENT_TYPE,
            event_payload={"command_ids": [c.command_id for c in commands]},
        ),
    )


def _line(command: PostSlackMessage, mentions: Sequence[str]) -> str:
    line = f"• {command.text}"
    link = record_link(command.blocks_json)
    if link is not None:
        line += f" <{link}|open>"
    if mentions:
        line += " " + " ".join(f"<@{user}>" for user in mentions)
    return line


def _chunks(lines: list[str], limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = line[:limit]
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def record_link(blocks_json: str | None) -> str | None:
    """The link back to the record (a mrkdwn `<url|label>` in the command's blocks), if any."""
    found = _LINK.search(blocks_json or "")
    return found.group(1) if found else None


def _blocks(blocks_json: str | None) -> list[dict[str, Any]] | None:
    if not blocks_json:
        return None
    blocks = json.loads(blocks_json)
    if not isinstance(blocks, list):
        raise PermanentError("blocks_json is not a JSON list of blocks")
    return blocks
