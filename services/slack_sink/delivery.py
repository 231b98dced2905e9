"""Handles PostSlackMessage commands: ledger check, post (one, or a digest of many), ledger
entry, audit.

Every command is posted at most once: DONE in the ledger means skip; PENDING means an
earlier post may have landed, so Slack is asked (by the command ids in message metadata)
before posting again. Slack's answers decide the rest: a channel error is permanent (the
runner dead-letters it with the reason), a rejected token holds the workspace
(`credentials.WorkspaceCredentials`), a 429 is retried after Retry-After.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pydantic import SecretStr

from chassis.audit import AuditTrail, Stage
from chassis.kafka.record import Record
from events import PostSlackMessage
from slack_client.client import SlackClient
from slack_client.errors import SlackCredentialError
from slack_client.models import PostedMessage
from slack_sink import message
from slack_sink.credentials import WorkspaceCredentials
from slack_sink.ledger import Ledger
from slack_sink.mentions import Mentions

log = logging.getLogger(__name__)


class SlackDelivery:
    def __init__(
        self,
        *,
        credentials: WorkspaceCredentials,
        ledger: Ledger,
        audit: AuditTrail,
        mentions: Mentions | None = None,
    ) -> None:
        self._credentials = credentials
        self._ledger = ledger
        self._audit = audit
        self._mentions = mentions or Mentions()

    async def __call__(self, record: Record) -> None:
        """One command: one message (a thread reply when the command names a thread)."""
        command = PostSlackMessage.from_record(record.value)
        if await self._still_to_post([command]):
            await self._post_single(record, command)

    async def digest(self, records: list[Record]) -> None:
        """Several queued commands of one channel as one digest message."""
        commands = [PostSlackMessage.from_record(r.value) for r in records]
        todo = await self._still_to_post(commands)
        if len(todo) <= 1:
            for command in todo:
                await self._post_single(records[commands.index(command)], command)
            return
        first = todo[0]
        client, token = self._credentials.client(first.workspace)
        with self._guard(first.workspace, token):
            mentions = {
                c.command_id: await self._mentions.user_ids(client, c.workspace, c.mention_emails)
                for c in todo
            }
        new = [c for c in todo if self._ledger.get(c.command_id) is None]
        if new:
            await self._ledger.pending(new, digest=True)
        async with records[0].paced():
            with self._guard(first.workspace, token):
                posted = await _post(client, first, message.digest(todo, mentions))
        await self._ledger.done(todo, posted, digest=True)
        self._sent(todo, posted, digest=True)
        log.info("digest posted", extra={"channel": first.channel, "commands": len(todo)})

    async def _post_single(self, record: Record, command: PostSlackMessage) -> None:
        client, token = self._credentials.client(command.workspace)
        with self._guard(command.workspace, token):
            mentions = await self._mentions.user_ids(
                client, command.workspace, command.mention_emails
            )
        if self._ledger.get(command.command_id) is None:
            await self._ledger.pending([command], digest=False)
        async with record.paced():
            with self._guard(command.workspace, token):
                posted = await _post(client, command, message.single(command, mentions))
        await self._ledger.done([command], posted, digest=False)
        self._sent([command], posted, digest=False)

    @contextmanager
    def _guard(self, workspace: str, token: SecretStr) -> Iterator[None]:
        """A token Slack rejects holds the workspace instead of failing the command."""
        try:
            yield
        except SlackCredentialError as exc:
            raise self._credentials.rejected(workspace, token, exc.error) from exc

    async def _still_to_post(self, commands: Sequence[PostSlackMessage]) -> list[PostSlackMessage]:
        """The commands not yet in Slack: DONE ones are skipped, PENDING ones looked for."""
        todo = []
        for command in commands:
            entry = self._ledger.get(command.command_id)
            if entry is not None and self._ledger.is_done(command.command_id):
                self._audit.record(
                    Stage.SKIPPED,
                    entity_id=command.entity_id,
                    command_id=command.command_id,
                    external_id=entry.ts or entry.external_id,
                    detail="already posted",
                )
            else:
                todo.append(command)
        interrupted = [c for c in todo if self._ledger.get(c.command_id) is not None]
        if not interrupted:
            return todo
        client, token = self._credentials.client(interrupted[0].workspace)
        with self._guard(interrupted[0].workspace, token):
            found = await client.find_messages_by_metadata(
                channel=interrupted[0].channel,
                event_type=message.METADATA_EVENT_TYPE,
                keys=message.METADATA_KEYS,
                values=[c.command_id for c in interrupted],
            )
        for posted in set(found.values()):
            landed = [c for c in interrupted if found.get(c.command_id) == posted]
            log.info("post found after an interrupted delivery", extra={"ts": posted.ts})
            # History answers by the name we asked with; the ledger wants Slack's channel id.
            channel_id = self._ledger.channel_id(landed[0].key) or posted.channel
            posted = PostedMessage(channel=channel_id, ts=posted.ts)
            digest = any(self._ledger.was_digest(c.command_id) for c in landed)
            await self._ledger.done(landed, posted, digest=digest)
            self._sent(landed, posted, digest=digest)
        return [c for c in todo if c.command_id not in found]

    def _sent(
        self, commands: Sequence[PostSlackMessage], posted: PostedMessage, *, digest: bool
    ) -> None:
        detail = f"posted to {commands[0].channel}" + (
            f" in a digest of {len(commands)}" if digest else ""
        )
        for command in commands:
            self._audit.record(
                Stage.SENT,
                entity_id=command.entity_id,
                event_id=command.source_event_id,
                command_id=command.command_id,
                external_id=posted.ts,
                detail=detail,
            )


async def _post(
    client: SlackClient, command: PostSlackMessage, outgoing: message.SlackMessage
) -> PostedMessage:
    return await client.post_message(
        channel=command.channel,
        text=outgoing.text,
        blocks=outgoing.blocks,
        metadata=outgoing.metadata,
        thread_ts=outgoing.thread_ts,
    )
