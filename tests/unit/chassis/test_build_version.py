"""The build version on every audit record: where it comes from, and old records still read.

The chassis fills it once per process (`chassis.build_version`): the image's
`MLC_BUILD_VERSION` first, else the installed package's version with the checkout's commit,
else `unknown`. Records written with AuditEvent version 1 (before the field) still decode.
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import fastavro
import pytest

from chassis import build_version as build
from chassis.audit import AUDIT_SCHEMA, AuditTrail, Stage
from chassis.serde import DEFAULT_SCHEMAS_DIR, AvroSerde, SchemaCatalog
from mlc.audit import audit_line

pytestmark = pytest.mark.unit

SERDE = AvroSerde(SchemaCatalog.load())
AT = datetime(2026, 3, 1, 8, 15, 30, 123000, tzinfo=UTC)


def _resolve(environ: dict[str, str], version: str | None, commit: str | None) -> str:
    return build.resolve_build_version(
        environ, package_version=lambda: version, source_commit=lambda: commit
    )


def test_the_image_s_environment_variable_wins() -> None:
    environ = {"MLC_BUILD_VERSION": " 0.2.0+g0123456789ab \n"}

    assert _resolve(environ, "0.1.0", "6d073fb8452b") == "0.2.0+g0123456789ab"


def test_without_it_the_package_version_and_the_checkout_commit() -> None:
    assert _resolve({}, "0.1.0", "6d073fb8452b.dirty") == "0.1.0+g6d073fb8452b.dirty"
    assert _resolve({"MLC_BUILD_VERSION": ""}, "0.1.0", None) == "0.1.0"


def test_nothing_known_is_unknown_not_an_error() -> None:
    assert _resolve({}, None, "6d073fb8452b") == "unknown"


def test_the_package_version_is_the_installed_distribution_s() -> None:
    assert build.installed_package_version() == "0.1.0"


def test_a_folder_that_is_no_checkout_has_no_commit(tmp_path: Path) -> None:
    # An installed wheel or an image has no .git: never report an enclosing repository's.
    assert build.checkout_commit(tmp_path) is None


def test_this_checkout_reports_its_commit() -> None:
    commit = build.checkout_commit()

    assert commit is not None
    assert re.fullmatch(r"[0-9a-f]{12}(\.dirty)?", commit), commit


@pytest.fixture
def fresh_build_version() -> Iterator[None]:
    build.build_version.cache_clear()
    yield
    build.build_version.cache_clear()


@pytest.mark.usefixtures("fresh_build_version")
def test_every_audit_event_carries_the_build_version_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLC_BUILD_VERSION", "9.9.9+gfeedface0000")
    published: list[bytes] = []
    trail = AuditTrail(service="slack-sink", serde=SERDE, publish=lambda k, v: published.append(v))

    trail.record(Stage.SENT, entity_id="Bill:000123", external_id="1772352930.000100")
    _, value = trail.event(Stage.FAILED, entity_id="Bill:000124")

    decoded = [SERDE.decode(v)[1] for v in (*published, value)]
    assert [e["build_version"] for e in decoded] == ["9.9.9+gfeedface0000"] * 2


@pytest.mark.usefixtures("fresh_build_version")
def test_without_the_variable_the_audit_carries_the_package_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLC_BUILD_VERSION", raising=False)
    trail = AuditTrail(service="processor", serde=SERDE, publish=lambda k, v: None)

    _, value = trail.event(Stage.ROUTED, entity_id="Bill:000123")

    assert SERDE.decode(value)[1]["build_version"].startswith("0.1.0+g")


def _written_with_version_1() -> bytes:
    manifest = json.loads((DEFAULT_SCHEMAS_DIR / "manifest.json").read_text())["schemas"]
    (entry,) = [e for e in manifest if e["name"] == AUDIT_SCHEMA and e["version"] == 1]
    schema = fastavro.parse_schema(json.loads((DEFAULT_SCHEMAS_DIR / entry["file"]).read_text()))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, {
        "audit_id": "0b7e", "at": AT, "service": "slack-sink", "stage": "sent",
        "entity_id": "Bill:000123", "event_id": None, "command_id": "9f2c",
        "external_id": "1772352930.000100", "detail": None, "correlation_id": None,
    })  # fmt: skip
    return struct.pack(">bI", 0, entry["id"]) + body.getvalue()


def test_an_audit_record_written_before_the_field_still_decodes_without_a_version() -> None:
    name, record = SERDE.decode(_written_with_version_1())

    assert name == AUDIT_SCHEMA
    assert record["build_version"] is None
    assert record["external_id"] == "1772352930.000100"


def test_mlc_audit_shows_the_build_and_nothing_for_old_records() -> None:
    _, old = SERDE.decode(_written_with_version_1())
    new = old | {"build_version": "0.1.0+g6d073fb8452b"}

    assert audit_line(new).endswith("external=1772352930.000100  build=0.1.0+g6d073fb8452b")
    assert audit_line(new).split()[1:3] == ["slack-sink", "sent"]
    assert "build=" not in audit_line(old)
