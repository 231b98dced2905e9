"""Issue 9 item 6: a record whose writer schema id the processor cannot resolve is a newer
producer rolling out, not poison. It is never dead-lettered: the handler holds it (so its
partition is not committed past), decoding again with backoff, logs once per schema id,
counts every attempt, and routes it as soon as its schema can be read (a registry answers).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY
from tests.unit.processor.test_processor_handler import FakeTopic

from chassis.audit import AuditTrail
from chassis.registry import RegistryUnavailable
from chassis.serde import AvroSerde, SchemaCatalog
from events import SupplierInvoiceChanged
from processor.handler import InvoiceHandler, Outcome, PartitionMovedError, Record
from processor.rules import RuleSet

pytestmark = pytest.mark.unit

NEW_ID = 987_654


def _with_schema_id(value: bytes, schema_id: int) -> bytes:
    return value[:1] + struct.pack(">I", schema_id) + value[5:]


def _record(value: bytes, offset: int = 41) -> Record:
    return Record(key=b"k", value=value, headers={}, topic="in", partition=2, offset=offset)


def _waits(schema_id: int) -> float:
    sample = REGISTRY.get_sample_value(
        "mlc_processor_unknown_schema_waits_total", {"schema_id": str(schema_id)}
    )
    return sample or 0.0


class Rig:
    def __init__(
        self, rules: RuleSet, serde: AvroSerde, *, owned: Callable[[Record], bool]
    ) -> None:
        self.commands, self.dlq, self.audit_topic = FakeTopic(), FakeTopic(), FakeTopic()
        self.slept: list[float] = []
        self.gave_up = 0

        def giving_up() -> None:
            self.gave_up += 1

        async def sleep(seconds: float) -> None:
            self.slept.append(seconds)

        async def publish(key: str, value: bytes) -> object:
            return await (await self.audit_topic.send(key.encode(), value, []))

        self.handler = InvoiceHandler(
            rules=rules, serde=serde, seen={},
            send_command=lambda command, value, headers: self.commands.send(
                command.key.encode(), value, headers),
            send_dead_letter=self.dlq.send,
            audit=AuditTrail(service="processor", serde=serde, publish=publish),
            owned=owned, sleep=sleep, giving_up=giving_up,
        )  # fmt: skip


def test_an_unknown_schema_id_without_a_registry_holds_the_record_and_is_never_dead_lettered(
    rules: RuleSet,
    serde: AvroSerde,
    make: Callable[..., SupplierInvoiceChanged],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No registry: the id stays unknown until the processor is upgraded. The handler waits
    with growing backoff while the partition is ours; when it is revoked the wait ends with
    PartitionMovedError (the worker stops rather than commit past it). Nothing is sent."""
    event = make()
    known = serde.encode(event.SCHEMA, event.to_record())
    checks: list[int] = []

    def owned(record: Record) -> bool:
        checks.append(record.offset)
        return len(checks) <= 5

    rig = Rig(rules, serde, owned=owned)
    before = _waits(NEW_ID)
    with (
        caplog.at_level(logging.ERROR, logger="processor.handler"),
        pytest.raises(PartitionMovedError),
    ):
        asyncio.run(
            rig.handler.handle_batch(
                [_record(known, offset=40), _record(_with_schema_id(known, NEW_ID))]
            )
        )

    assert rig.dlq.sent == []
    assert rig.commands.sent == []  # not even the decodable record before it: nothing moves
    assert rig.slept == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert checks == [41] * 6
    assert rig.gave_up == 1  # the process's stop watchdog is armed before the worker stops
    assert _waits(NEW_ID) - before == 6
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, "logged once per schema id, not once per attempt"
    assert getattr(errors[0], "schema_id", None) == NEW_ID
    assert "not dead-lettered" in errors[0].getMessage()


class FlakyRegistry:
    """A Schema Registry that is unreachable for the first `down` lookups, then knows
    `NEW_ID` as the given definition."""

    def __init__(self, definition: dict[str, Any], *, down: int) -> None:
        self.definition = definition
        self.down = down
        self.lookups = 0

    def definition_of(self, schema_id: int) -> dict[str, Any]:
        self.lookups += 1
        if self.lookups <= self.down:
            raise RegistryUnavailable("schema registry answered HTTP 503")
        assert schema_id == NEW_ID
        return self.definition


def test_with_a_registry_the_writer_schema_is_fetched_by_id_and_the_record_routed(
    rules: RuleSet, make: Callable[..., SupplierInvoiceChanged]
) -> None:
    """A registry that is down twice, then answers: the record waits (not dead-lettered),
    then is read with the registry's writer schema and routed once."""
    catalog = SchemaCatalog.load()
    definition = catalog.latest(SupplierInvoiceChanged.SCHEMA).definition
    registry = FlakyRegistry(definition, down=2)
    serde = AvroSerde(catalog, writers=registry)
    event = make()
    value = _with_schema_id(serde.encode(event.SCHEMA, event.to_record()), NEW_ID)
    rig = Rig(rules, serde, owned=lambda record: True)

    outcomes = asyncio.run(rig.handler.handle_batch([_record(value)]))

    assert outcomes == [Outcome.ROUTED]
    assert rig.dlq.sent == []
    assert rig.slept == [1.0, 2.0]
    assert registry.lookups == 3
    assert len(rig.commands.sent) == 2  # both rules match the 125000 SEK invoice
