"""The Slack sink's replay adapter: its group and topics, its ledger's meaning, and a lookup
of a command in Slack by the command id the sink puts in every message's metadata.

The lookup is the one the sink makes for a PENDING entry after a crash
(`slack_sink.delivery`): conversations.history of the channel (by Slack's channel id), or
conversations.replies for a thread reply, from shortly before the command was written, for a
message whose metadata carries the command id (a digest lists several). A command that
updates a document's message in place is found on that message, which was posted earlier:
the lookup starts from the document's first post when the ledger knows it. A found command is
recorded DONE through the sink's own `Ledger`, with the channel id and ts, as the sink
records a post it made.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chassis.kafka.expiry import Expiry
from chassis.kafka.record import Record
from chassis.settings import ServiceSettings
from chassis.vault import vault_from_environment
from events import PostSlackMessage
from events.deliveries import DeliveryStatus, SinkDelivery
from events.topics import SINK_SLACK, STATE_SLACK_LEDGER
from mlc.replay_contract import (
    CommandLedgerTopic,
    EntryState,
    LedgerState,
    ReplayCommand,
    ReplayContext,
    prefixed,
)
from slack_client.client import SlackClient
from slack_client.models import PostedMessage
from slack_sink import message
from slack_sink.credentials import WorkspaceCredentials
from slack_sink.delivery import LOOKUP_MARGIN
from slack_sink.inject import SERVICE
from slack_sink.ledger import Ledger
from slack_sink.main import options_from

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


class SlackReplay:
    sink = SERVICE
    system = "Slack"

    def __init__(self, context: ReplayContext) -> None:
        options = options_from(context.sink_args, ServiceSettings())
        self._options = options
        self._context = context
        self.group_id = context.group_id or options.group_id
        self._topic = CommandLedgerTopic(
            commands=prefixed(options.commands_topic.name, SINK_SLACK.name, context.prefix),
            ledger=prefixed(options.ledger_topic.name, STATE_SLACK_LEDGER.name, context.prefix),
        )
        self.topics = (self._topic,)
        self.expiry = Expiry(options.ledger_horizon)
        self._ledger = Ledger(
            sink=SERVICE, topic=self._topic.ledger, producer=context.producer,
            serde=context.serde, expiry=self.expiry,
        )  # fmt: skip
        self._channel_ids: dict[str, str] = {}
        """Destination -> Slack's channel id, as the ledger's entries show it."""
        self._documents: dict[tuple[str, str], float] = {}
        """(destination, entity id) -> the ts of the document's first top-level post."""
        self._http: httpx.AsyncClient | None = None
        self._credentials: WorkspaceCredentials | None = None

    def decode(self, record: Record) -> ReplayCommand:
        command = PostSlackMessage.from_record(record.value)
        return ReplayCommand.of(record, command, entity_id=command.entity_id or command.key)

    def ledger_state(self, topic: CommandLedgerTopic, fields: dict[str, Any]) -> LedgerState:
        entry = SinkDelivery.from_record(fields)
        if entry.channel_id is not None:
            self._channel_ids[entry.destination] = entry.channel_id
        if entry.posted and entry.thread_ts is None and entry.entity_id and entry.ts:
            key = (entry.destination, entry.entity_id)
            self._documents[key] = min(self._documents.get(key, float(entry.ts)), float(entry.ts))
        if entry.status is DeliveryStatus.DONE:
            return LedgerState(EntryState.DONE, entry.ts or entry.external_id)
        if entry.not_posted:
            return LedgerState(EntryState.RETRY, detail="Slack refused the last attempt")
        return LedgerState(EntryState.PENDING)

    def searchable(self, command: ReplayCommand) -> str | None:
        return None  # every post carries its command id in its metadata

    async def find(self, command: ReplayCommand) -> str | None:
        post: PostSlackMessage = command.command
        client = self._client(post.workspace)
        channel_id = await self._channel_id(client, post)
        if channel_id is None:
            return None  # no channel of that name for the bot: nothing can have been posted
        found = await client.find_messages_by_metadata(
            channel_id=channel_id,
            event_type=message.METADATA_EVENT_TYPE,
            keys=message.METADATA_KEYS,
            values=[post.command_id],
            oldest=self._oldest(command),
            thread_ts=post.thread_ts,
        )
        posted = found.get(post.command_id)
        return None if posted is None else posted.ts

    async def record_found(self, command: ReplayCommand, external_id: str) -> None:
        post: PostSlackMessage = command.command
        channel_id = await self._channel_id(self._client(post.workspace), post)
        assert channel_id is not None  # `find` resolved it
        await self._ledger.done(
            [post], PostedMessage(channel=channel_id, ts=external_id), digest=False,
            thread_ts=post.thread_ts,
        )  # fmt: skip

    async def aclose(self) -> None:
        if self._credentials is not None:
            await self._credentials.aclose()
        if self._http is not None:
            await self._http.aclose()

    def _client(self, workspace: str) -> SlackClient:
        """The workspace's client, with the sink's own token (vault or environment); the
        vault is opened only when a lookup is needed."""
        if self._credentials is None:
            settings = self._context.settings
            self._http = httpx.AsyncClient(base_url=self._options.api_base, timeout=30.0)
            self._credentials = WorkspaceCredentials(
                http=self._http,
                tokens=self._options.tokens,
                vault_names=self._options.vault_credentials,
                vault=self._context.vault or (lambda: vault_from_environment(kafka=settings)),
            )
        client, _ = self._credentials.client(workspace)
        return client

    async def _channel_id(self, client: SlackClient, post: PostSlackMessage) -> str | None:
        """Slack reads history by channel id only: from the ledger, the command itself, or
        conversations.list (a read); None when the bot sees no such channel."""
        known = self._channel_ids.get(post.key)
        if known is not None:
            return known
        if _CHANNEL_ID.match(post.channel):
            return post.channel
        resolved = await client.channel_id(post.channel)
        if resolved is None:
            return None
        self._channel_ids[post.key] = resolved
        return resolved

    def _oldest(self, command: ReplayCommand) -> str:
        """From shortly before the command was written, or from its document's first post
        (a later version updates that message in place)."""
        written = command.record.timestamp_ms or 0
        start = datetime.fromtimestamp(written / 1000, tz=UTC) - LOOKUP_MARGIN
        oldest = start.timestamp()
        post: PostSlackMessage = command.command
        if post.entity_id is not None:
            document = self._documents.get((post.key, post.entity_id))
            if document is not None:
                oldest = min(oldest, document - timedelta(seconds=1).total_seconds())
        return f"{oldest:.6f}"


def build(context: ReplayContext) -> SlackReplay:
    return SlackReplay(context)
