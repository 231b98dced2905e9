"""The Kafka side of the writer: one record in, one command applied, credentials held.

Translation and the hold live here; the decisions live in `VismaWriter`. A command whose
company's credentials Visma refuses is neither retried to exhaustion nor dead-lettered:
nothing about the command is wrong, and once the credential is fixed it should simply go
through. It waits (audited HELD once), blocking only its own entity, and tries again every
`hold_seconds`; if the writer stops meanwhile the record is redelivered.

A command that will go to the DLQ instead (a permanent error, or the runner's last attempt
failing) is first reported to whoever asked for it, then the error goes on to the runner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from chassis.audit import AuditTrail, Stage
from chassis.errors import PermanentError
from chassis.kafka.record import Record
from chassis.kafka.runner import RunnerConfig
from events.commands import ApplyVismaAction
from visma_client import VismaAuthError
from visma_writer.writer import VismaWriter

log = logging.getLogger(__name__)


class MalformedCommandError(PermanentError):
    """The record decodes, but not into an ApplyVismaAction."""


class ApplyVismaActionHandler:
    def __init__(
        self,
        writer: VismaWriter,
        *,
        audit: AuditTrail,
        hold_seconds: float = 300.0,
        max_attempts: int = RunnerConfig.max_attempts,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._writer = writer
        self._audit = audit
        self._hold_seconds = hold_seconds
        self._max_attempts = max_attempts
        self._sleep = sleep

    async def __call__(self, record: Record) -> None:
        try:
            command = ApplyVismaAction.from_record(record.value)
        except ValidationError as exc:
            raise MalformedCommandError(f"not an ApplyVismaAction: {exc}") from exc
        try:
            await self._apply_holding(command)
        except PermanentError as exc:
            await self._writer.give_up(command, str(exc))
            raise
        except Exception as exc:  # decided: re-raised for the runner to retry or dead-letter
            if record.attempts >= self._max_attempts:  # the runner dead-letters it next
                reason = f"gave up after {record.attempts} attempts: {exc}"
                await self._writer.give_up(command, reason)
            raise

    async def _apply_holding(self, command: ApplyVismaAction) -> None:
        held = False
        while True:
            try:
                await self._writer.apply(command)
                return
            except VismaAuthError as exc:
                if not held:
                    held = True
                    self._audit.record(
                        Stage.HELD,
                        entity_id=command.entity_id,
                        command_id=command.command_id,
                        detail=f"Visma refused the credentials of {command.company_id}: {exc}"[
                            :500
                        ],
                    )
                log.error(
                    "visma credentials refused; holding the command",
                    extra={"company_id": command.company_id, "wait": self._hold_seconds},
                )
                await self._sleep(self._hold_seconds)
