"""JSON log lines: one object per line, correlation id included, secrets never in clear."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr

from chassis.jsonlog import JsonFormatter, Redactor
from chassis.logcontext import correlated

pytestmark = pytest.mark.unit


def _format(redactor: Redactor, msg: str, **extra: object) -> dict[str, object]:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": msg, **extra})
    return dict(json.loads(JsonFormatter("svc", redactor).format(record)))


def test_registered_secret_is_masked_in_message_and_fields() -> None:
    redactor = Redactor()
    redactor.register(SecretStr("s3cr3t-value-123"))
    line = _format(redactor, "login with s3cr3t-value-123", detail="again s3cr3t-value-123")
    assert "s3cr3t-value-123" not in json.dumps(line)
    assert line["msg"] == "login with ***"
    assert line["detail"] == "again ***"


@pytest.mark.parametrize(
    "text",
    [
        "token xoxb-1234-5678-abcdef",
        "Authorization: Bearer eyJhbGciOi.abc.def",
        "client_secret=hunter2hunter2&x=1",
        '{"password": "pa55word!"}',
    ],
)
def test_well_known_secret_shapes_are_masked_unregistered(text: str) -> None:
    line = _format(Redactor(), text)
    for secret in ("xoxb-1234-5678-abcdef", "eyJhbGciOi.abc.def", "hunter2hunter2", "pa55word!"):
        assert secret not in str(line["msg"])
    assert "***" in str(line["msg"])


def test_line_carries_service_level_and_correlation_id() -> None:
    with correlated("cid-42"):
        line = _format(Redactor(), "hello")
    assert (line["service"], line["level"], line["correlation_id"]) == ("svc", "info", "cid-42")
