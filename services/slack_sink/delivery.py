"""Handles PostSlackMessage commands: ledger check, post (one, or a digest of many), ledger
entry, audit.

A command for a later version of a document that the channel already shows updates that
message in place (chat.update, by the channel ID and ts the ledger keeps) or, when its rule
asks for a new post on a change, replies in its thread; reminders and digests always post.

Every command is posted at most once: DONE in the ledger means skip; PENDING means an
earlier post may have landed, so Slack is asked (by the command ids in message metadata)
before posting again: by channel ID (Slack reads history by ID only), from shortly before
the PENDING entry was written (one page, however long the channel), and in the thread for
a reply (thread replies are not in channel history). A refusal from Slack (429, a rejected
token, a channel error) means nothing was posted; the ledger says so, and the retry posts
without asking. Slack's answers decide the rest: a channel error is permanent (the runner
dead-letters it with the reason), a rejected token holds the workspace
(`credentials.WorkspaceCredentials`), a 429 is retried after Retry-After.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from datetime import timedelta

from pydantic import SecretStr

from chassis.audit import AuditTrail, Stage
from chassis.kafka.record import Record
from events import PostSlackMessage
from events.slack import OnChange
from slack_client.client import SlackClient
from slack_client.errors import (
    SlackChannelError,
    SlackCredentialError,
    SlackRateLimited,
    SlackRequestError,
)
from slack_client.models import PostedMessage
from slack_sink import message
from slack_sink.credentials import WorkspaceCredentials
from slack_sink.ledger import Ledger
from slack_sink.mentions import Mentions

log = logging.getLogger(__name__)

LOOKUP_MARGIN = timedelta(minutes=5)
"""How far before a PENDING entry's time its post is looked for: covers the clock
difference between this host and Slack, whose clock stamps the message ts."""

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
"""Slack conversation IDs; channel names are lower case, so the two never mix up."""

_REFUSED = (SlackRateLimited, SlackCredentialError, SlackChannelError)
"""Answers from chat.postMessage that mean Slack stored nothing."""


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
        # A later version of a document the channel shows goes to its message, not a digest.
        placed = [c for c in todo if self._placement(c) != (None, None)]
        todo = [c for c in todo if c not in placed]
        if len(todo) <= 1:
            placed += todo
            todo = []
        for command in sorted(placed, key=commands.index):
            await self._post_single(records[commands.index(command)], command)
        if not todo:
            return
        first = todo[0]
        client, token = self._credentials.client(first.workspace)
        with self._guard(first.workspace, token):
            mentions = {
                c.command_id: await self._mentions.user_ids(client, c.workspace, c.mention_emails)
                for c in todo
            }
        new = [c for c in todo if self._ledger.needs_pending(c.command_id)]
        if new:
            await self._ledger.pending(new, digest=True)
        async with records[0].paced() as count:
            with self._guard(first.workspace, token):
                async with self._refusal_recorded(todo, digest=True):
                    posted = await _post(client, first, message.digest(todo, mentions))
            count.counted_at(float(posted.ts))
        await self._ledger.done(todo, posted, digest=True)
        self._sent(todo, posted, digest=True)
        log.info("digest posted", extra={"channel": first.channel, "commands": len(todo)})

    async def _post_single(self, record: Record, command: PostSlackMessage) -> None:
        client, token = self._credentials.client(command.workspace)
        with self._guard(command.workspace, token):
            mentions = await self._mentions.user_ids(
                client, command.workspace, command.mention_emails
            )
        document, thread_ts = self._placement(command)
        outgoing = replace(message.single(command, mentions), thread_ts=thread_ts)
        if document is not None:
            # The message stands for every version it has shown, as a digest for its commands.
            shown = list(
                dict.fromkeys([*self._ledger.shown_commands(document), command.command_id])
            )
            outgoing = replace(outgoing, metadata=message.versions_metadata(shown))
            approver = self._ledger.approved_by(document)
            if approver is not None:  # a later version keeps saying who approved it
                text, blocks = message.with_approver(outgoing.text, outgoing.blocks, approver)
                outgoing = replace(outgoing, text=text, blocks=blocks)
        if self._ledger.needs_pending(command.command_id):
            await self._ledger.pending([command], digest=False)
        async with record.paced() as count:
            with self._guard(command.workspace, token):
                async with self._refusal_recorded([command], digest=False):
                    if command.approved_by is not None and thread_ts is not None:
                        # Before the reply: a crash in between redoes this same update.
                        await self._show_approver(client, command, thread_ts)
                    if document is None:
                        posted = await _post(client, command, outgoing)
                        # Slack's ts says when it counted the post against the channel's limit.
                        count.counted_at(float(posted.ts))
                    else:
                        posted = await _update(client, command, outgoing, document)
        approved_by = command.approved_by if thread_ts is not None else None
        await self._ledger.done(
            [command], posted, digest=False, thread_ts=thread_ts, approved_by=approved_by
        )
        self._sent([command], posted, digest=False, updated=document == posted)

    async def _show_approver(
        self, client: SlackClient, command: PostSlackMessage, thread_ts: str
    ) -> None:
        """An approval's confirmation replies in a document's thread: that message, as Slack
        shows it now (its newest version), gets an "Approved by" line, in place."""
        assert command.approved_by is not None
        parent = PostedMessage(channel=await self._channel_id(client, command), ts=thread_ts)
        if not self._ledger.is_document(parent):
            return  # a digest's or another sink's message: nothing of ours to keep current
        stored = await client.read_message(channel_id=parent.channel, ts=parent.ts)
        if stored is None:
            log.warning("the approved document's message is gone", extra={"slack_ts": parent.ts})
            return
        text, blocks = message.with_approver(stored.text, stored.blocks, command.approved_by)
        metadata = stored.metadata or message.versions_metadata(self._ledger.shown_commands(parent))
        try:
            await client.update_message(
                channel_id=parent.channel, ts=parent.ts, text=text, blocks=blocks,
                metadata=metadata,
            )  # fmt: skip
        except SlackRequestError as exc:
            if exc.error not in _GONE:
                raise
            log.warning(
                "the approved document's message cannot be updated",
                extra={"slack_ts": parent.ts, "error": exc.error},
            )

    def _placement(self, command: PostSlackMessage) -> tuple[PostedMessage | None, str | None]:
        """Where the command goes: (the document's message to update in place, or None;
        the thread to reply in, or None for a new top-level message)."""
        if command.thread_ts is not None or command.on_change is OnChange.POST:
            return None, command.thread_ts
        document = self._ledger.document_message(command)
        if document is None:
            return None, None  # the document's first message in this channel
        if command.on_change is OnChange.UPDATE:
            return document, None
        return None, document.ts

    @asynccontextmanager
    async def _refusal_recorded(
        self, commands: Sequence[PostSlackMessage], *, digest: bool
    ) -> AsyncIterator[None]:
        """Slack refused the post: the ledger says nothing was posted, then the error goes on."""
        try:
            yield
        except _REFUSED:
            await self._ledger.not_posted(commands, digest=digest)
            raise

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
        interrupted = [c for c in todo if self._ledger.may_have_posted(c.command_id)]
        if not interrupted:
            return todo
        found: set[str] = set()
        for thread_ts, group in self._by_thread(interrupted).items():
            found |= await self._look_for(group, thread_ts=thread_ts)
        return [c for c in todo if c.command_id not in found]

    def _by_thread(
        self, commands: Sequence[PostSlackMessage]
    ) -> dict[str | None, list[PostSlackMessage]]:
        """Where each interrupted post would be: its thread, or the channel (None)."""
        groups: dict[str | None, list[PostSlackMessage]] = defaultdict(list)
        for command in commands:
            digest = self._ledger.was_digest(command.command_id)
            groups[None if digest else self._placement(command)[1]].append(command)
        return groups

    async def _look_for(
        self, interrupted: Sequence[PostSlackMessage], *, thread_ts: str | None
    ) -> set[str]:
        """Asks Slack which of `interrupted` (one channel, one thread) were posted; records
        those as DONE and returns their command ids."""
        first = interrupted[0]
        client, token = self._credentials.client(first.workspace)
        with self._guard(first.workspace, token):
            channel_id = await self._channel_id(client, first)
            found = await client.find_messages_by_metadata(
                channel_id=channel_id,
                event_type=message.METADATA_EVENT_TYPE,
                keys=message.METADATA_KEYS,
                values=[c.command_id for c in interrupted],
                oldest=self._oldest(interrupted),
                thread_ts=thread_ts,
            )
        for posted in set(found.values()):
            landed = [c for c in interrupted if found.get(c.command_id) == posted]
            log.info("post found after an interrupted delivery", extra={"slack_ts": posted.ts})
            digest = any(self._ledger.was_digest(c.command_id) for c in landed)
            await self._ledger.done(landed, posted, digest=digest)
            self._sent(landed, posted, digest=digest)
        return set(found)

    async def _channel_id(self, client: SlackClient, command: PostSlackMessage) -> str:
        """Slack's id for the command's channel: from the ledger, the command itself, or
        (before the first post there) conversations.list."""
        entry = self._ledger.get(command.command_id)
        known = (entry.channel_id if entry else None) or self._ledger.channel_id(command.key)
        if known is not None:
            return known
        if _CHANNEL_ID.match(command.channel):
            return command.channel
        resolved = await client.channel_id(command.channel)
        if resolved is None:
            raise SlackChannelError(
                f"no channel named {command.channel} is visible to the bot",
                error="channel_not_found",
            )
        self._ledger.learn_channel_id(command.key, resolved)
        return resolved

    def _oldest(self, interrupted: Sequence[PostSlackMessage]) -> str:
        """Slack ts from which to look: the earliest PENDING entry's time, less the margin."""
        times = [e.at for c in interrupted if (e := self._ledger.get(c.command_id)) is not None]
        return f"{(min(times) - LOOKUP_MARGIN).timestamp():.6f}"

    def _sent(
        self,
        commands: Sequence[PostSlackMessage],
        posted: PostedMessage,
        *,
        digest: bool,
        updated: bool = False,
    ) -> None:
        verb = "updated in place in" if updated else "posted to"
        detail = f"{verb} {commands[0].channel}" + (
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


_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
"""chat.update refusals meaning the document's message can no longer be changed."""


async def _update(
    client: SlackClient,
    command: PostSlackMessage,
    outgoing: message.SlackMessage,
    document: PostedMessage,
) -> PostedMessage:
    """The document's message changed in place; a new post when it can no longer be
    changed (deleted by someone, or past an edit window)."""
    try:
        return await client.update_message(
            channel_id=document.channel,
            ts=document.ts,
            text=outgoing.text,
            blocks=outgoing.blocks,
            metadata=outgoing.metadata,
        )
    except SlackRequestError as exc:
        if exc.error not in _GONE:
            raise
        log.warning(
            "the document's message cannot be updated; posting a new one",
            extra={"channel": command.channel, "error": exc.error},
        )
        return await _post(client, command, outgoing)
