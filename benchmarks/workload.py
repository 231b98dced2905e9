"""Records a benchmark feeds in as they are on the wire, and the Slack sink's commands.

The processor's input (mixed Visma events of every entity, and its 50 rules) lives in
`benchmarks.mixed_events`, shared with the integration tests that check the same work.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from chassis.serde import AvroSerde
from events import PostSlackMessage


@dataclass(frozen=True)
class Encoded:
    key: bytes
    value: bytes


def slack_commands(channels: list[str], *, per_channel: int) -> Iterator[PostSlackMessage]:
    """`per_channel` commands for each channel, interleaved as a processor would emit them."""
    created = datetime.now(UTC)
    for round_ in range(per_channel):
        for channel in channels:
            text = f"Benchmark message {round_ + 1} of {per_channel} to #{channel}"
            yield slack_command(channel, round_, text=text, created=created)


def slack_command(channel: str, round_: int, *, text: str, created: datetime) -> PostSlackMessage:
    """One benchmark command to `channel`; invoice `round_` is its entity."""
    return PostSlackMessage(
        command_id=uuid.uuid4().hex,
        tenant_id="tenant-se-1",
        workspace="default",
        channel=channel,
        text=text,
        rule="bench",
        source_event_id=str(uuid.uuid4()),
        entity_type="supplierInvoice",
        entity_id=f"Invoice:{round_:07d}",
        created_at=created,
    )


def encode_commands(serde: AvroSerde, commands: Iterator[PostSlackMessage]) -> list[Encoded]:
    return [
        Encoded(c.key.encode(), serde.encode(PostSlackMessage.SCHEMA, c.to_record()))
        for c in commands
    ]
