"""The event models and the Avro schemas stay in step, and schemas only evolve compatibly.

Two contracts: every pydantic model in `events` has exactly the fields of its Avro schema
(nested records included), and every older schema version in the manifest can be read by the
newest version of the same name (BACKWARD compatibility: a consumer upgraded first still
reads what old producers wrote). The compatibility check proves it can fail on a schema
evolved in the test itself.
"""

from __future__ import annotations

import importlib
import io
import json
import pkgutil
import types
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import fastavro
import pytest
from fastavro.read import SchemaResolutionError
from pydantic import BaseModel

import events
from chassis.serde import DEFAULT_SCHEMAS_DIR, AvroSerde, SchemaCatalog
from events._avro import AvroModel

pytestmark = pytest.mark.unit

Schema = dict[str, Any]


# ---- the manifest ----------------------------------------------------------------------------


def _manifest(root: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((root / "manifest.json").read_text())["schemas"]
    return entries


def _definition(root: Path, entry: dict[str, Any]) -> Schema:
    definition: Schema = json.loads((root / entry["file"]).read_text())
    return definition


def _newest_definitions(root: Path) -> dict[str, Schema]:
    newest: dict[str, dict[str, Any]] = {}
    for entry in _manifest(root):
        if entry["name"] not in newest or entry["version"] > newest[entry["name"]]["version"]:
            newest[entry["name"]] = entry
    return {name: _definition(root, entry) for name, entry in newest.items()}


def older_newest_pairs(root: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (older version, newest version) pair of each schema name in the manifest."""
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in _manifest(root):
        by_name[entry["name"]].append(entry)
    pairs = []
    for versions in by_name.values():
        versions.sort(key=lambda e: e["version"])
        newest = versions[-1]
        pairs.extend((older, newest) for older in versions[:-1])
    return pairs


# ---- sample records generated from a schema --------------------------------------------------


def _sample(schema: Any, named: dict[str, Any]) -> Any:
    """A deterministic, valid, non-trivial value for any Avro schema (non-null union branches)."""
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        return _sample(branches[0], named) if branches else None
    if isinstance(schema, str):
        return _sample(named[schema], named) if schema in named else _PRIMITIVES[schema]
    if schema.get("logicalType") in _LOGICAL:
        return _LOGICAL[schema["logicalType"]](schema)
    return _sample_complex(schema, named)


def _sample_complex(schema: Schema, named: dict[str, Any]) -> Any:
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        named[schema["name"]] = schema
        if "namespace" in schema:
            named[f"{schema['namespace']}.{schema['name']}"] = schema
    if kind == "record":
        return {f["name"]: _sample(f["type"], named) for f in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][-1]
    if kind == "fixed":
        return b"\x01" * schema["size"]
    if kind == "array":
        return [_sample(schema["items"], named)] * 2
    if kind == "map":
        return {"k": _sample(schema["values"], named)}
    return _sample(kind, named)


_LOGICAL: dict[str, Callable[[Schema], Any]] = {
    "timestamp-millis": lambda _: datetime(2026, 3, 1, 8, 15, 30, 123000, tzinfo=UTC),
    "date": lambda _: date(2026, 2, 27),
    "decimal": lambda s: Decimal(12345).scaleb(-s.get("scale", 0)),
}

_PRIMITIVES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "int": 7,
    "long": 7_000_000_000,
    "float": 1.5,
    "double": 2.25,
    "bytes": b"\x00\xff",
    "string": "text",
}


# ---- the compatibility check ------------------------------------------------------------------


def assert_readable_by(older: Schema, newer: Schema) -> None:
    """Writes a record with `older` and reads it with `newer`; raises if newer cannot read it."""
    writer = fastavro.parse_schema(older, named_schemas={})
    reader = fastavro.parse_schema(newer, named_schemas={})
    written = _sample(older, {})
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, writer, written)
    buffer.seek(0)
    read = fastavro.schemaless_reader(buffer, writer, reader)
    expected = _as_read(older, newer, written)
    for field in newer["fields"]:
        assert read[field["name"]] == expected[field["name"]], field["name"]


def _as_read(older: Any, newer: Any, written: Any) -> Any:
    """What `newer` should read of `written`: fields added with a default, at any depth of
    nested records, hold their default."""
    if not (isinstance(older, dict) and isinstance(newer, dict)):
        return written
    if older.get("type") != "record" or newer.get("type") != "record":
        return written
    old_fields = {f["name"]: f for f in older["fields"]}
    return {
        field["name"]: _as_read(old_fields[field["name"]]["type"], field["type"],
                                written[field["name"]])
        if field["name"] in old_fields
        else field["default"]
        for field in newer["fields"]
    }  # fmt: skip


def incompatible_pairs(root: Path) -> list[str]:
    problems = []
    for older, newest in older_newest_pairs(root):
        try:
            assert_readable_by(_definition(root, older), _definition(root, newest))
        except (SchemaResolutionError, AssertionError, KeyError) as exc:
            problems.append(f"{older['file']} -> {newest['file']}: {type(exc).__name__}: {exc}")
    return problems


def test_every_older_version_is_readable_by_the_newest() -> None:
    assert incompatible_pairs(DEFAULT_SCHEMAS_DIR) == []


def test_the_manifest_never_reuses_an_id_or_a_version() -> None:
    entries = _manifest(DEFAULT_SCHEMAS_DIR)
    ids = [e["id"] for e in entries]
    versions = [(e["name"], e["version"]) for e in entries]
    assert len(set(ids)) == len(ids)
    assert len(set(versions)) == len(versions)
    assert all((DEFAULT_SCHEMAS_DIR / e["file"]).is_file() for e in entries)


@pytest.mark.parametrize("name", sorted(_newest_definitions(DEFAULT_SCHEMAS_DIR)))
def test_samples_of_every_schema_round_trip(name: str) -> None:
    # The generator must produce valid, exactly comparable values for the real schemas, or the
    # compatibility check above would be comparing nothing.
    definition = _newest_definitions(DEFAULT_SCHEMAS_DIR)[name]
    assert_readable_by(definition, definition)


# ---- self-checks: the compatibility check can fail --------------------------------------------

BASE: Schema = {
    "type": "record",
    "name": "Thing",
    "namespace": "io.mlconnector.test",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 19, "scale": 4},
        },
    ],
}


def _evolved(*fields: dict[str, Any]) -> Schema:
    return BASE | {"fields": [*BASE["fields"], *fields]}


def test_self_check_adding_a_field_with_a_default_is_compatible() -> None:
    assert_readable_by(
        BASE, _evolved({"name": "note", "type": ["null", "string"], "default": None})
    )
    assert_readable_by(BASE, _evolved({"name": "tries", "type": "int", "default": 3}))


def test_self_check_adding_a_field_without_a_default_is_detected() -> None:
    with pytest.raises(SchemaResolutionError):
        assert_readable_by(BASE, _evolved({"name": "note", "type": "string"}))


def test_self_check_changing_a_field_type_is_detected() -> None:
    changed = BASE | {"fields": [{"name": "id", "type": "int"}, *BASE["fields"][1:]]}
    with pytest.raises(SchemaResolutionError):
        assert_readable_by(BASE, changed)


def _write_manifest(root: Path, versions: list[Schema]) -> None:
    entries = []
    for number, definition in enumerate(versions, start=1):
        file = f"test/Thing.v{number}.avsc"
        (root / "test").mkdir(exist_ok=True)
        (root / file).write_text(json.dumps(definition))
        entries.append(
            {"id": number, "name": "io.mlconnector.test.Thing", "version": number, "file": file}
        )
    (root / "manifest.json").write_text(json.dumps({"schemas": entries}))


def test_self_check_every_older_version_is_paired_with_the_newest(tmp_path: Path) -> None:
    v2 = _evolved({"name": "note", "type": ["null", "string"], "default": None})
    v3 = _evolved(
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "tries", "type": "int", "default": 0},
    )
    _write_manifest(tmp_path, [BASE, v2, v3])

    pairs = older_newest_pairs(tmp_path)

    assert [(o["version"], n["version"]) for o, n in pairs] == [(1, 3), (2, 3)]
    assert incompatible_pairs(tmp_path) == []


def test_self_check_an_incompatible_version_in_a_manifest_is_reported(tmp_path: Path) -> None:
    v2 = _evolved({"name": "note", "type": ["null", "string"], "default": None})
    v3 = _evolved({"name": "required_note", "type": "string"})
    _write_manifest(tmp_path, [BASE, v2, v3])

    problems = incompatible_pairs(tmp_path)

    assert len(problems) == 2
    assert problems[0].startswith("test/Thing.v1.avsc -> test/Thing.v3.avsc: SchemaResolution")
    assert problems[1].startswith("test/Thing.v2.avsc -> test/Thing.v3.avsc: SchemaResolution")


# ---- models mirror their schemas --------------------------------------------------------------


def _event_models() -> list[type[AvroModel]]:
    models: set[type[AvroModel]] = set()
    for module_info in pkgutil.iter_modules(events.__path__, f"{events.__name__}."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            # A shared base (an envelope without a schema of its own) is not an event.
            is_model = isinstance(value, type) and issubclass(value, AvroModel)
            if is_model and hasattr(value, "SCHEMA"):
                models.add(value)
    return sorted(models, key=lambda m: m.__name__)


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(get_args(annotation))
        return (args[0] if len(args) == 1 else annotation), nullable
    return annotation, False


def _avro_nullable(schema: Any) -> tuple[Any, bool]:
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        return (branches[0] if len(branches) == 1 else schema), len(branches) < len(schema)
    return schema, False


def _array_items(avro_type: Any, py_type: Any) -> tuple[Any, Any] | None:
    """The item types when both sides are arrays (lists); None when only one side is."""
    avro_array = isinstance(avro_type, dict) and avro_type["type"] == "array"
    py_list = get_origin(py_type) is list
    if avro_array and py_list:
        return avro_type["items"], get_args(py_type)[0]
    return None if avro_array or py_list else (avro_type, py_type)


def _mismatches(model: type[BaseModel], record: Schema, path: str) -> list[str]:
    """Field names, nullability and nested records that differ between a model and a record."""
    avro_fields = {f["name"]: f for f in record["fields"]}
    model_fields = model.model_fields
    problems = [f"{path}.{n}: only in the Avro schema" for n in avro_fields.keys() - model_fields]
    problems += [f"{path}.{n}: only in the model" for n in model_fields.keys() - avro_fields]
    for name in sorted(avro_fields.keys() & model_fields.keys()):
        avro_type, avro_null = _avro_nullable(avro_fields[name]["type"])
        py_type, py_null = _strip_optional(model_fields[name].annotation)
        if avro_null != py_null:
            problems.append(f"{path}.{name}: nullable in Avro {avro_null}, in model {py_null}")
        items = _array_items(avro_type, py_type)
        if items is None:
            problems.append(f"{path}.{name}: an array on one side only")
            continue
        avro_type, py_type = items
        nested_avro = isinstance(avro_type, dict) and avro_type["type"] == "record"
        nested_model = isinstance(py_type, type) and issubclass(py_type, BaseModel)
        if nested_avro and nested_model:
            problems += _mismatches(py_type, avro_type, f"{path}.{name}")
        elif nested_avro or nested_model:
            problems.append(f"{path}.{name}: a record on one side only")
    return problems


def test_the_models_found_are_the_known_ones() -> None:
    names = {m.__name__ for m in _event_models()}
    assert {"SupplierInvoiceChanged", "PostSlackMessage", "PurchaseOrderChanged"} <= names
    assert "VismaEntityChanged" not in names


def test_every_visma_event_is_found_and_has_a_schema() -> None:
    found = set(_event_models())
    definitions = _newest_definitions(DEFAULT_SCHEMAS_DIR)
    for entity_type, model in events.VISMA_EVENTS.items():
        assert model in found
        fields = {f["name"]: f for f in definitions[model.SCHEMA]["fields"]}
        assert fields["entity_type"]["default"] == entity_type


@pytest.mark.parametrize("model", _event_models(), ids=lambda m: m.__name__)
def test_each_model_has_exactly_the_fields_of_its_schema(model: type[AvroModel]) -> None:
    definitions = _newest_definitions(DEFAULT_SCHEMAS_DIR)
    assert model.SCHEMA in definitions

    assert _mismatches(model, definitions[model.SCHEMA], model.__name__) == []


def test_self_check_a_drifted_model_is_detected() -> None:
    class Invoice(BaseModel):
        number: str
        amount: Decimal | None = None

    class Drifted(BaseModel):
        id: str
        extra: str
        invoice: Invoice

    schema: Schema = {
        "type": "record",
        "name": "Drifted",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "missing", "type": "string"},
            {
                "name": "invoice",
                "type": {
                    "type": "record",
                    "name": "Invoice",
                    "fields": [
                        {"name": "number", "type": "string"},
                        {"name": "amount", "type": "string"},
                        {"name": "currency", "type": "string"},
                    ],
                },
            },
        ],
    }

    assert sorted(_mismatches(Drifted, schema, "Drifted")) == [
        "Drifted.extra: only in the model",
        "Drifted.invoice.amount: nullable in Avro False, in model True",
        "Drifted.invoice.currency: only in the Avro schema",
        "Drifted.missing: only in the Avro schema",
    ]


def test_self_check_drift_inside_array_items_is_detected() -> None:
    class Line(BaseModel):
        number: int | None = None
        extra: str

    class Order(BaseModel):
        lines: list[Line]
        tags: list[Line]

    line: Schema = {
        "type": "record",
        "name": "Line",
        "fields": [{"name": "number", "type": "int"}],
    }
    schema: Schema = {
        "type": "record",
        "name": "Order",
        "fields": [
            {"name": "lines", "type": {"type": "array", "items": line}},
            {"name": "tags", "type": "Line"},
        ],
    }

    assert sorted(_mismatches(Order, schema, "Order")) == [
        "Order.lines.extra: only in the model",
        "Order.lines.number: nullable in Avro False, in model True",
        "Order.tags: an array on one side only",
    ]


@pytest.mark.parametrize("model", _event_models(), ids=lambda m: m.__name__)
def test_each_model_round_trips_through_its_schema(model: type[AvroModel]) -> None:
    serde = AvroSerde(SchemaCatalog.load())
    record = _sample(_newest_definitions(DEFAULT_SCHEMAS_DIR)[model.SCHEMA], {})
    instance = model.from_record(record)

    name, decoded = serde.decode(serde.encode(model.SCHEMA, instance.to_record()))

    assert name == model.SCHEMA
    assert model.from_record(decoded) == instance
