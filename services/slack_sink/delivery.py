"""Handles one PostSlackMessage: ledger check, post, ledger entry, audit."""

from __future__ import annotations

import json
import logging
from typing import Any

from chassis.audit import AuditTrail, Stage
from chassis.errors import PermanentError
from chassis.kafka.record import Record
from events import PostSlackMessage
from slack_client.client import SlackClient
from slack_client.models import MessageMetadata
from slack_sink.ledger import Ledger, Status

log = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "mlc_command"


class UnknownWorkspaceError(PermanentError):
    """The command names a Slack workspace this sink has no credential for."""


class SlackDelivery:
    def __init__(
        self, *, clients: dict[str, SlackClient], ledger: Ledger, audit: AuditTrail
    ) -> None:
        self._clients = clients
        self._ledger = ledger
        self._audit = audit

    async def __call__(self, record: Record) -> None:
        command = PostSlackMessage.from_record(record.value)
        destination = command.key
        entry = self._ledger.get(command.command_id)
        if entry is not None and entry.status is Status.DONE:
            self._audit.record(
                Stage.SKIPPED,
                entity_id=command.entity_id,
                command_id=command.command_id,
                external_id=entry.external_id,
                detail="already posted",
            )
            return
        client = self._clients.get(command.workspace)
        if client is None:
            raise UnknownWorkspaceError(f"no Slack credential for workspace {command.workspace}")
        if entry is not None:
            found = await client.find_message_by_metadata(
                channel=command.channel,
                event_type=METADATA_EVENT_TYPE,
                key="command_id",
                value=command.command_id,
            )
            if found is not None:
                log.info("post found after an interrupted delivery", extra={"ts": found.ts})
                await self._ledger.done(command.command_id, destination, found.ts)
                self._sent(command, found.ts)
                return
        else:
            await self._ledger.pending(command.command_id, destination)
        async with record.paced():
            posted = await client.post_message(
                channel=command.channel,
                text=command.text,
                blocks=_blocks(command.blocks_json),
                metadata=MessageMetadata(
                    event_type=METADATA_EVENT_TYPE,
                    event_payload={"command_id": command.command_id},
                ),
            )
        await self._ledger.done(command.command_id, destination, posted.ts)
        self._sent(command, posted.ts)

    def _sent(self, command: PostSlackMessage, ts: str) -> None:
        self._audit.record(
            Stage.SENT,
            entity_id=command.entity_id,
            event_id=command.source_event_id,
            command_id=command.command_id,
            external_id=ts,
            detail=f"posted to {command.channel}",
        )


def _blocks(blocks_json: str | None) -> list[dict[str, Any]] | None:
    if not blocks_json:
        return None
    blocks = json.loads(blocks_json)
    if not isinstance(blocks, list):
        raise PermanentError("blocks_json is not a JSON list of blocks")
    return blocks
