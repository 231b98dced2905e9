"""Reading values written with a schema id this service does not know (issue 9 item 6).

A stand-in for Confluent's Schema Registry REST API (`GET /schemas/ids/{id}` answers
`{"schema": "<the schema as a JSON string>"}`, 404 with error code 40403 for an unknown id)
behind `httpx.MockTransport`: the writer's schema is fetched once per id and the value read
with schema resolution into this service's newest schema of the same name.
"""

from __future__ import annotations

import io
import json
import struct
from datetime import UTC, datetime
from typing import Any

import fastavro
import httpx
import pytest

from chassis.errors import PermanentError, RetryableError, SystemUnavailable
from chassis.registry import SchemaRegistryIds
from chassis.serde import AvroSerde, SchemaCatalog, SerdeError
from events import PostSlackMessage

pytestmark = pytest.mark.unit

NEWER_ID = 4242


def _newer_post_schema() -> dict[str, Any]:
    """PostSlackMessage as a newer producer might write it: one field more (with a default,
    as a backward-compatible change must have), fields otherwise as ours."""
    ours = SchemaCatalog.load().latest(PostSlackMessage.SCHEMA).definition
    newer = json.loads(json.dumps(ours))
    newer["fields"].append({"name": "priority", "type": "string", "default": "normal"})
    return dict(newer)


def _command() -> PostSlackMessage:
    return PostSlackMessage(
        command_id="c" * 64,
        tenant_id="t1",
        workspace="acme",
        channel="ap-approvals",
        text="invoice 1 is due",
        rule="due",
        source_event_id="event-1",
        entity_type="supplierInvoice",
        entity_id="Bill:000001",
        created_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
    )


def _written_by_newer_producer() -> bytes:
    record = _command().to_record() | {"priority": "high"}
    buffer = io.BytesIO()
    buffer.write(struct.pack(">bI", 0, NEWER_ID))
    schema = fastavro.parse_schema(_newer_post_schema(), named_schemas={})
    fastavro.schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


class Registry:
    """Confluent's `GET /schemas/ids/{id}`, counting the lookups."""

    def __init__(self, schemas: dict[int, dict[str, Any]], *, status: int = 200) -> None:
        self.schemas = schemas
        self.status = status
        self.lookups: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        self.lookups.append(request.url.path)
        if self.status != 200:
            return httpx.Response(self.status, json={"error_code": 50301, "message": "down"})
        schema_id = int(request.url.path.rsplit("/", 1)[1])
        schema = self.schemas.get(schema_id)
        if schema is None:
            return httpx.Response(404, json={"error_code": 40403, "message": "Schema not found"})
        return httpx.Response(200, json={"schema": json.dumps(schema)})

    def serde(self) -> AvroSerde:
        http = httpx.Client(
            base_url="http://registry.test", transport=httpx.MockTransport(self.handle)
        )
        return AvroSerde(SchemaCatalog.load(), writers=SchemaRegistryIds(http))


def test_a_newer_writer_schema_is_fetched_once_and_read_with_schema_resolution() -> None:
    registry = Registry({NEWER_ID: _newer_post_schema()})
    serde = registry.serde()
    data = _written_by_newer_producer()

    first = serde.decode(data)
    second = serde.decode(data)

    assert first == second == (PostSlackMessage.SCHEMA, _command().to_record())
    assert "priority" not in first[1], "read as this service's schema"
    assert registry.lookups == [f"/schemas/ids/{NEWER_ID}"], "fetched once, then cached"


def test_an_id_the_registry_does_not_know_is_poison() -> None:
    serde = Registry({}).serde()
    with pytest.raises(SerdeError, match=f"schema id {NEWER_ID} is unknown to the schema registry"):
        serde.decode(_written_by_newer_producer())


def test_a_registry_that_is_down_is_an_outage_not_poison() -> None:
    serde = Registry({NEWER_ID: _newer_post_schema()}, status=503).serde()
    with pytest.raises(SystemUnavailable) as raised:
        serde.decode(_written_by_newer_producer())
    assert isinstance(raised.value, RetryableError)
    assert not isinstance(raised.value, PermanentError)


def test_without_a_registry_a_newer_id_is_retryable() -> None:
    serde = AvroSerde(SchemaCatalog.load())
    with pytest.raises(RetryableError, match=f"unknown schema id {NEWER_ID}"):
        serde.decode(_written_by_newer_producer())
