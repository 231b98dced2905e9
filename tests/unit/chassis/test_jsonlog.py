"""JSON log lines: one object per line, correlation id included, secrets never in clear."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest
from pydantic import SecretStr

from chassis.jsonlog import JsonFormatter, Redactor, configure_logging
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


# Pieces of each secret between its quotes and backslashes: none may survive in a line.
AWKWARD_SECRETS = {
    'Kq7"Zt9"Wv3': ("Kq7", "Zt9", "Wv3"),
    "Kq7\\Zt9\\\\Wv3": ("Kq7", "Zt9", "Wv3"),
    "Kq7'Zt9'Wv3": ("Kq7", "Zt9", "Wv3"),
    "Kq7øZt9ÅWv3€": ("Kq7", "Zt9", "Wv3"),
    'Kq7"Zt9\\Wv3æ': ("Kq7", "Zt9", "Wv3"),
}


def _assert_hidden(line: dict[str, object], pieces: tuple[str, ...]) -> None:
    text = json.dumps(line, ensure_ascii=False)
    for piece in pieces:
        assert piece not in text, text


@pytest.mark.parametrize("secret", sorted(AWKWARD_SECRETS))
def test_registered_secret_with_quotes_backslashes_or_non_ascii_is_masked(secret: str) -> None:
    redactor = Redactor()
    redactor.register(SecretStr(secret))
    body = json.dumps({"client_id": "abc", "note": secret})
    line = _format(
        redactor,
        f"raw {secret} body {body} repr {secret!r}",
        detail=secret,
        nested={"list": [secret, {"deep": f"x{secret}x"}]},
    )
    _assert_hidden(line, AWKWARD_SECRETS[secret])
    assert str(line["msg"]).startswith("raw *** body ")
    assert line["detail"] == "***"


@pytest.mark.parametrize(
    "text",
    [
        'password="Kq7\\"Zt9 Wv3"',
        "password='Kq7\\'Zt9 Wv3'",
        '{"client_secret": "Kq7\\"Zt9\\\\Wv3"}',
        "client_secret=Kq7ÆZt9øWv3&x=1",
        "token: Kq7\\Zt9\\Wv3",
        json.dumps(json.dumps({"password": 'Kq7"Zt9\\Wv3'})),  # JSON quoted again
    ],
)
def test_unregistered_secret_values_are_masked_whole(text: str) -> None:
    line = _format(Redactor(), text)
    _assert_hidden(line, ("Kq7", "Zt9", "Wv3"))
    assert "***" in str(line["msg"])


def test_a_library_repeating_a_failure_is_thinned_and_the_service_is_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A broker outage: aiokafka says the same thing hundreds of times, from several loggers."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("svc", "INFO")
        capsys.readouterr()
        for attempt in range(300):
            logging.getLogger("aiokafka").error(
                "Unable connect to node with id 1: [Errno 111] Connect call failed "
                "('127.0.0.1', %d)",
                40000 + attempt,
            )
            logging.getLogger("aiokafka.consumer.fetcher").error("Failed fetch messages from 1")
        for _ in range(3):
            logging.getLogger("svc.core").warning("poll failed, will try again")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    by_logger = Counter(str(line["logger"]) for line in lines)
    assert by_logger == {"aiokafka": 1, "aiokafka.consumer.fetcher": 1, "svc.core": 3}
