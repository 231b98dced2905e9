"""The mapping file taken up while the service runs: an operator fixes it (on Kubernetes:
edits the ConfigMap, which replaces the mounted file) and the held payments it now maps are
released without a restart.

Every `every_seconds` the file is looked at (`chassis.watched_file`: re-read only when it
changed, a version with a mistake is logged and the one in force kept). A changed, valid
file is handed to the desk, which maps every held payment again under the same lock as the
payments, so a release and a payment never interleave. A release whose transaction failed
is tried again at the next look, until it is written.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from airbase_payments.config import PaymentsConfig, PaymentsConfigError, config_from_text
from airbase_payments.desk import PaymentsDesk
from chassis.errors import RetryableError
from chassis.watched_file import WatchedFile

log = logging.getLogger(__name__)

RELOAD_SECONDS = 30.0
"""How often the file is looked at by default (a ConfigMap change reaches a pod in about a
minute anyway)."""


class MappingReload:
    def __init__(self, path: Path, desk: PaymentsDesk, *, every_seconds: float) -> None:
        self._file: WatchedFile[PaymentsConfig] = WatchedFile(
            path,
            parse=lambda content: config_from_text(content, source=path),
            invalid=PaymentsConfigError,
            what="airbase-payments mapping",
        )
        self._desk = desk
        self._every = every_seconds
        # The first look hands the file as read here to the desk, so a change between the
        # service's own load and this read is not missed (an unchanged file decides nothing).
        self._unreleased = True

    @property
    def current(self) -> PaymentsConfig:
        return self._file.current

    async def check(self) -> bool:
        """Takes up a changed file (True when it released or re-held anything under it)."""
        if not (self._file.check() or self._unreleased):
            return False
        self._unreleased = True
        try:
            decision = await self._desk.reconfigure(self._file.current)
        except RetryableError as exc:
            log.warning("release after reload not written, trying again", extra={"error": str(exc)})
            return False
        self._unreleased = False
        return bool(decision.commands or decision.changed)

    async def run(self) -> None:
        """Looks at the file every `every_seconds` until cancelled."""
        while True:
            await asyncio.sleep(self._every)
            await self.check()
