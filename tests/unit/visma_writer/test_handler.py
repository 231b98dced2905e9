"""The Kafka-facing handler: decoding, and holding commands while credentials are refused."""

from __future__ import annotations

import pytest
from writer_harness import Harness, command

from chassis.errors import PermanentError
from chassis.kafka.record import Record
from visma_writer.handler import ApplyVismaActionHandler, MalformedCommandError

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ID = "Invoice:000123"


def record(value: dict[str, object]) -> Record:
    return Record(
        topic="sink.visma-writer.v1", partition=0, offset=7, key="k", raw=b"", headers=[],
        value=value,
    )  # fmt: skip


async def test_refused_credentials_hold_the_command_until_they_work(harness: Harness) -> None:
    harness.visma.add(ID, "Balanced")
    harness.visma.refuse_tokens = 3
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    handler = ApplyVismaActionHandler(
        harness.writer, audit=harness.audit.trail, hold_seconds=42.0, sleep=wait
    )
    await handler(record(command().to_record()))
    assert waits == [42.0, 42.0, 42.0]
    assert harness.audit.stages() == ["held", "sent"]
    assert harness.visma.count(ID) == 1


async def test_a_value_that_is_not_a_command_is_permanent(harness: Harness) -> None:
    handler = ApplyVismaActionHandler(harness.writer, audit=harness.audit.trail)
    with pytest.raises(MalformedCommandError) as caught:
        await handler(record({"command_id": "x"}))
    assert isinstance(caught.value, PermanentError)
