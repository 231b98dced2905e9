"""JSON log lines on stdout, with the correlation id and with secrets redacted.

Redaction works twice over: values registered as secrets (every `SecretStr` a service loads)
are replaced wherever they appear, and well-known token shapes (Slack tokens, bearer headers,
`client_secret=`) are masked even if nobody registered them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from pydantic import SecretStr

from chassis.kafka.client_log import RepeatLimiter
from chassis.logcontext import current_correlation_id

MASK = "***"
_KEYS = r"(?:client_secret|password|secret|token|api_key)"
# A quoted value runs to its closing quote, escapes included, so a secret with a quote or a
# backslash in it is masked whole; `\"...\"` is JSON quoted again inside a message.
_VALUE = "|".join(
    (
        # \"...\": JSON quoted again inside a message; inside it a backslash is \\\\ and a
        # quote \\\", so the value ends at the first \" that is neither.
        r'\\"(?:\\\\\\\\|\\\\\\"|\\\\[^\\"]|[^\\])*(?:\\"|$)',
        r'"(?:\\.|[^"\\])*(?:"|$)',  # "...", escaped quotes included
        r"'(?:\\.|[^'\\])*(?:'|$)",
        r"""[^\s&,;}"']+""",  # bare, up to a separator
    )
)
_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    # `key=value`, `key: 'value'` and `"key": "value"`, also in JSON quoted again.
    re.compile(rf"(?i)({_KEYS}\\?[\"']?\s*[=:]\s*)(?:{_VALUE})"),
]
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _spellings(secret: str) -> set[str]:
    """How a secret may appear in text: as is, JSON-escaped (with and without \\u escapes of
    non-ASCII characters) and Python-repr-escaped, as a message quoting a body would show it."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    }


def _mask(match: re.Match[str]) -> str:
    """Keeps the key and the value's quotes, so the text around stays readable."""
    prefix = match.group(1) if match.groups() else ""
    value = match.group(0)[len(prefix) :]
    for quote in ('\\"', '"', "'"):
        if value.startswith(quote):
            closed = len(value) > len(quote) and value.endswith(quote)
            return prefix + quote + MASK + (quote if closed else "")
    return prefix + MASK


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def register(self, *secrets: SecretStr | str | None) -> None:
        for secret in secrets:
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if value and len(value) >= 4:
                self._secrets |= _spellings(value)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(_mask, text)
        return text

    def fields(self, value: Any) -> Any:
        """A JSON-ready copy of a log entry's value, every string in it redacted *before* it is
        encoded: encoding escapes quotes, backslashes and non-ASCII characters, after which a
        registered secret would no longer be found."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self(str(k)): self.fields(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.fields(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self(str(value))


REDACTOR = Redactor()


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._service = service
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        cid = current_correlation_id()
        if cid:
            entry["correlation_id"] = cid
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(self._redact.fields(entry))


LIBRARIES = ("aiokafka", "faust", "mode", "httpx", "httpcore", "uvicorn")
"""Loggers of libraries that repeat a failure several times a second while it lasts."""
LIBRARY_REPEAT_SECONDS = 30.0


class LibraryRepeats(logging.Filter):
    """Thins the libraries' repeated lines (numbers ignored: once per interval per logger).

    While a broker is down, aiokafka logs "Unable connect to node" and "Unable to update
    metadata" many times a second from several loggers (a 25-second outage gave about 4,600
    lines from one processor). A handler filter, because a logger's own filter does not see
    its children's records; the service's own lines pass untouched.
    """

    def __init__(self, *, interval: float = LIBRARY_REPEAT_SECONDS) -> None:
        super().__init__()
        self._limiter = RepeatLimiter(interval=interval)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] not in LIBRARIES:
            return True
        return self._limiter.filter(record)


def configure_logging(service: str, level: str = "INFO", *, stream: TextIO | None = None) -> None:
    """Every log line of the process as JSON on `stream` (stdout unless told otherwise)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(LibraryRepeats())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # Python warnings as JSON lines too, not plain stderr
    # Libraries log several debug lines per record: DEBUG shows their info lines, no lower.
    floor = logging.INFO if root.level <= logging.DEBUG else logging.WARNING
    for noisy in ("httpx", "httpcore", "aiokafka", "faust", "mode", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(floor, root.level))
