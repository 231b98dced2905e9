"""A hand-edited configuration file that a running service takes up when it changes.

Rules and mapping files are edited by hand and, on Kubernetes, replaced under a running pod
when their ConfigMap changes. A service checks the file now and then (`check()`, from its
own loop: no thread); the file is re-read only when its mtime or size moved and parsed only
when its bytes differ, so a touch costs nothing. A new version that does not parse leaves
the one in force in place and says why (`error`, logged at error level): a typo must not
stop a service or empty its configuration; fixing the file is picked up the same way.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

__all__ = ["WatchedFile"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class WatchedFile(Generic[T]):
    """`current` is the file's parsed content; `check()` takes up a changed, valid file.

    `parse` turns the file's bytes into `T` or raises `invalid` (an error class built from
    a message, the caller's own, e.g. `RulesFileError`) naming the mistake; an unreadable
    file is reported as `invalid` too. The first read raises, the later ones keep `current`.
    `what` names the file in the logs ("rules": "rules file invalid, keeping previous rules").
    """

    def __init__(
        self,
        path: Path | str,
        *,
        parse: Callable[[bytes], T],
        invalid: type[Exception],
        what: str,
    ) -> None:
        self.path = Path(path)
        self._parse = parse
        self._invalid = invalid
        self._what = what
        self._stamp = self._stat()
        content = self._read()
        self.current: T = parse(content)
        self.error: Exception | None = None
        self._digest = hashlib.sha256(content).hexdigest()

    def check(self) -> bool:
        """True when a new version was taken up; on an invalid one keeps `current`, sets
        `error`."""
        stamp = self._stat()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            content = self._read()
        except self._invalid as exc:
            self.error = exc
            # The reason goes in the message: faust's log format drops `extra` fields.
            log.error("%s file unreadable, keeping previous %s: %s", self._what, self._what, exc)
            return False
        digest = hashlib.sha256(content).hexdigest()
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            parsed = self._parse(content)
        except self._invalid as exc:
            self.error = exc
            log.error("%s file invalid, keeping previous %s: %s", self._what, self._what, exc)
            return False
        self.current, self.error = parsed, None
        log.info("%s reloaded from %s", self._what, self.path.name)
        return True

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise self._invalid(f"{self.path.name}: cannot read: {exc.strerror}") from exc

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size
