"""`mlc dlq redrive --edit FILE`: a corrected value for one dead letter, in its own schema.

The operator writes the value as JSON or YAML (what `mlc dlq show --json` prints under
"value" is a valid start: times as ISO text, amounts as decimal text). It is converted to
the schema's Avro types (timestamps, dates, decimals), checked field by field against the
schema, and encoded with it before anything is sent: a value that does not validate is
refused and nothing is redriven.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from fastavro.validation import ValidationError, validate

from chassis.serde import AvroSerde, SerdeError
from mlc.dlq_reader import DlqQueryError


def edited_value(serde: AvroSerde, schema_name: str, path: Path) -> bytes:
    """The file's value encoded with `schema_name`; DlqQueryError if it cannot be."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise DlqQueryError(f"cannot read --edit file {path}: {exc.strerror}") from exc
    try:
        loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise DlqQueryError(
            f"--edit file {path} is not JSON/YAML: {str(exc).splitlines()[0]}"
        ) from exc
    if not isinstance(loaded, dict):
        raise DlqQueryError(f"--edit file {path} must hold one record (a mapping of fields)")
    schema = serde.catalog.latest(schema_name).parsed
    unknown = sorted(set(loaded) - {f["name"] for f in schema["fields"]})
    if unknown:
        raise DlqQueryError(f"--edit file {path}: {schema_name} has no field {', '.join(unknown)}")
    value = _coerce(loaded, schema)
    try:
        validate(value, schema, raise_errors=True)
        return serde.encode(schema_name, value)
    except (ValidationError, SerdeError) as exc:
        first = str(exc).replace("\n", " ")[:300]
        raise DlqQueryError(
            f"--edit file {path} does not validate as {schema_name}: {first}"
        ) from exc


def _coerce(value: Any, schema: Any) -> Any:
    """JSON text to the Avro type where the schema says (best effort: validation judges)."""
    if isinstance(schema, list):
        return _coerce_union(value, schema)
    if not isinstance(schema, dict):
        return value
    if "logicalType" in schema:
        return _coerce_logical(value, schema["logicalType"])
    kind = schema.get("type")
    if kind == "record" and isinstance(value, dict):
        fields = {f["name"]: f["type"] for f in schema["fields"]}
        return {k: _coerce(v, fields.get(k)) for k, v in value.items()}
    if kind == "array" and isinstance(value, list):
        return [_coerce(v, schema["items"]) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _coerce(v, schema["values"]) for k, v in value.items()}
    return value


def _coerce_union(value: Any, branches: list[Any]) -> Any:
    """The first branch that converts the value (a text that stays text fits "string")."""
    if value is None:
        return None
    for branch in branches:
        if branch == "null":
            continue
        coerced = _coerce(value, branch)
        if coerced is not value or not isinstance(value, str):
            return coerced
    return value


def _coerce_logical(value: Any, logical: str) -> Any:
    if isinstance(value, str) and logical in ("timestamp-millis", "timestamp-micros"):
        return _parsed(value, datetime.fromisoformat)
    if isinstance(value, str) and logical == "date":
        return _parsed(value, date.fromisoformat)
    if isinstance(value, str | int | float) and logical == "decimal":
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    return value


def _parsed(text: str, parse: Any) -> Any:
    try:
        return parse(text)
    except ValueError:
        return text
