"""Avro in the Confluent wire format, with schemas parsed once.

Every value on Kafka is a magic byte 0, a 4-byte big-endian schema id and the Avro body.
Ids come from a Schema Registry when one is configured, else from `schemas/manifest.json`,
so the same bytes are readable by any Confluent-compatible consumer. Decoding resolves the
writer's schema to the newest reader schema of the same name, which is how old records stay
readable after a schema evolves.

A record may carry a schema id this catalogue does not know: a newer producer is rolling
out. With a registry (`WriterSchemas`), the writer's schema is fetched by id once, cached,
and the record read with schema resolution. Without one, the id is `UnknownSchemaError`,
which is retryable: the record is fine, this consumer is just older than its writer.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import fastavro

from chassis.errors import PermanentError, RetryableError

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")
DEFAULT_SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"


class SerdeError(PermanentError):
    """A value could not be encoded or decoded: the record is poison, a retry cannot help."""


class UnknownSchemaError(RetryableError):
    """The value's schema id is not in the catalogue and no registry can say what it is: a
    newer producer is rolling out, so a later attempt (after an upgrade) can read it."""


class WriterSchemas(Protocol):
    """Where a writer's schema is looked up by id (a Schema Registry's `/schemas/ids/{id}`).

    Returns the schema definition; raises `SerdeError` when the id is unknown there too (the
    value is corrupt), a `RetryableError` when the lookup itself failed."""

    def definition_of(self, schema_id: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RegisteredSchema:
    name: str
    version: int
    schema_id: int
    definition: dict[str, Any]
    parsed: Any


class SchemaIdSource(Protocol):
    """Where schema ids come from: the manifest, or a Schema Registry."""

    def id_for(self, name: str, version: int, definition: dict[str, Any]) -> int: ...


class SchemaCatalog:
    """All schemas under one folder, every version, parsed once at start-up."""

    def __init__(self, schemas: list[RegisteredSchema]) -> None:
        self._by_id = {s.schema_id: s for s in schemas}
        self._latest: dict[str, RegisteredSchema] = {}
        for schema in sorted(schemas, key=lambda s: s.version):
            self._latest[schema.name] = schema

    @classmethod
    def load(
        cls, root: Path = DEFAULT_SCHEMAS_DIR, *, ids: SchemaIdSource | None = None
    ) -> SchemaCatalog:
        manifest_path = root / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise SerdeError(f"cannot read schema manifest {manifest_path}: {exc}") from exc
        schemas = []
        for entry in manifest["schemas"]:
            path = root / entry["file"]
            definition = json.loads(path.read_text())
            name = f"{definition['namespace']}.{definition['name']}"
            if name != entry["name"]:
                raise SerdeError(f"{path}: declares {name}, manifest says {entry['name']}")
            schema_id = ids.id_for(name, entry["version"], definition) if ids else int(entry["id"])
            parsed = fastavro.parse_schema(definition, named_schemas={})
            schemas.append(RegisteredSchema(name, entry["version"], schema_id, definition, parsed))
        return cls(schemas)

    def latest(self, name: str) -> RegisteredSchema:
        try:
            return self._latest[name]
        except KeyError:
            raise SerdeError(f"no schema named {name}") from None

    def by_id(self, schema_id: int) -> RegisteredSchema:
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise SerdeError(f"unknown schema id {schema_id}") from None

    def all(self) -> list[RegisteredSchema]:
        return list(self._by_id.values())


class AvroSerde:
    """Encodes records with the newest version of a named schema; decodes any known version,
    and with `writers` any version the registry knows."""

    def __init__(self, catalog: SchemaCatalog, *, writers: WriterSchemas | None = None) -> None:
        self.catalog = catalog
        self._writers = writers
        self._fetched: dict[int, RegisteredSchema] = {}

    def encode(self, name: str, record: Mapping[str, Any]) -> bytes:
        schema = self.catalog.latest(name)
        buffer = io.BytesIO()
        buffer.write(_HEADER.pack(MAGIC_BYTE, schema.schema_id))
        try:
            fastavro.schemaless_writer(buffer, schema.parsed, dict(record))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise SerdeError(f"cannot encode {name}: {exc}") from exc
        return buffer.getvalue()

    def decode(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """Returns the schema name and the record, read as the newest version of that schema."""
        if len(data) < _HEADER.size:
            raise SerdeError(f"value of {len(data)} bytes is too short for the wire format")
        magic, schema_id = _HEADER.unpack_from(data)
        if magic != MAGIC_BYTE:
            raise SerdeError(f"unknown magic byte {magic}")
        writer = self._writer(schema_id)
        reader = self.catalog.latest(writer.name)
        try:
            record = fastavro.schemaless_reader(
                io.BytesIO(data[_HEADER.size :]), writer.parsed, reader.parsed
            )
        except (ValueError, TypeError, EOFError, IndexError) as exc:
            raise SerdeError(f"cannot decode schema id {schema_id}: {exc}") from exc
        if not isinstance(record, dict):
            raise SerdeError(f"schema id {schema_id} is not a record schema")
        return writer.name, record

    def _writer(self, schema_id: int) -> RegisteredSchema:
        try:
            return self.catalog.by_id(schema_id)
        except SerdeError:
            pass
        fetched = self._fetched.get(schema_id)
        if fetched is not None:
            return fetched
        if self._writers is None:
            raise UnknownSchemaError(
                f"unknown schema id {schema_id} and no schema registry to ask"
            ) from None
        definition = self._writers.definition_of(schema_id)
        try:
            name = f"{definition['namespace']}.{definition['name']}"
            parsed = fastavro.parse_schema(definition, named_schemas={})
        except (KeyError, TypeError, ValueError, fastavro.schema.SchemaParseException) as exc:
            raise SerdeError(f"schema id {schema_id} from the registry is unusable: {exc}") from exc
        fetched = RegisteredSchema(name, 0, schema_id, definition, parsed)
        self._fetched[schema_id] = fetched
        return fetched
