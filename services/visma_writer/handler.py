"""The Kafka side of the writer: one record in, one command applied, credentials held.

Each record is dispatched by its schema to the route of its kind of command (an action
on an invoice: `VismaWriter`; a document such as a purchase receipt:
`documents.DocumentWriter` with the kind's handler). Translation and the hold live here;
the decisions live there. A command whose company's credentials Visma refuses is neither
retried to exhaustion nor dead-lettered: nothing about the command is wrong, and once the
credential is fixed it should simply go through. It is held (the chassis hold: audited
HELD, blocking only its own entity, let go and redelivered if the writer stops or loses the
partition) until the company's secret is replaced in the vault or `hold_seconds` have
passed (see `credentials.py`).

A command that will go to the DLQ instead (a permanent error, or a failure once the
record's retry budget is spent) is first reported to whoever asked for it, then the error
goes on to the runner. A Visma outage or 429 (`SystemUnavailable`) is neither: the runner
waits it out at no cost to the record's budget, so nothing is reported for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from chassis.audit import AuditTrail, Stage
from chassis.errors import PermanentError, SystemUnavailable
from chassis.kafka.record import Held, Record
from events.commands import ApplyVismaAction
from visma_client import VismaAuthError
from visma_writer.credentials import CompanyClients
from visma_writer.ledger import LedgerCommand
from visma_writer.writer import VismaWriter

log = logging.getLogger(__name__)


class MalformedCommandError(PermanentError):
    """The record decodes, but not into a command the writer has a handler for."""


@dataclass(frozen=True)
class Route:
    """One kind of command: its model, how to apply it, and what to do before the DLQ."""

    model: type[Any]
    apply: Callable[[Any], Awaitable[object]]
    give_up: Callable[[Any, str], Awaitable[None]]


async def _nobody_to_tell(_command: object, _reason: str) -> None:
    return None


def action_route(writer: VismaWriter) -> Route:
    return Route(ApplyVismaAction, writer.apply, writer.give_up)


def document_route(model: type[Any], apply: Callable[[Any], Awaitable[object]]) -> Route:
    """A document write: the runner's DLQ and audit say all there is to say on failure."""
    return Route(model, apply, _nobody_to_tell)


class WriterHandler:
    """Dispatches each record by its schema to the route of its kind of command."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        *,
        credentials: CompanyClients,
        audit: AuditTrail,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._routes = dict(routes)
        self._credentials = credentials
        self._audit = audit
        self._clock = clock

    def _route(self, record: Record) -> Route:
        route = self._routes.get(record.schema)
        if route is None and not record.schema and len(self._routes) == 1:
            (route,) = self._routes.values()  # a record handed over without its schema name
        if route is None:
            known = ", ".join(sorted(self._routes))
            raise MalformedCommandError(f"no handler for {record.schema!r} (handles {known})")
        return route

    async def __call__(self, record: Record) -> None:
        route = self._route(record)
        try:
            command: LedgerCommand = route.model.from_record(record.value)
        except ValidationError as exc:
            raise MalformedCommandError(f"not a {route.model.__name__}: {exc}") from exc
        company = (command.tenant_id, command.company_id)
        held = self._credentials.held(company)
        if held is not None:
            raise self._holding(command, held, "waiting: Visma refuses the company's credentials")
        generation = self._credentials.generation(company)
        try:
            await route.apply(command)
        except VismaAuthError as exc:
            held = self._credentials.refused(company, generation=generation, error=str(exc))
            raise self._holding(command, held, f"Visma refused the credentials: {exc}") from exc
        except PermanentError as exc:
            await route.give_up(command, str(exc))
            raise
        except SystemUnavailable:
            raise  # Visma is down or throttling: the runner waits it out, never dead-letters
        except Exception as exc:  # decided: re-raised for the runner to retry or dead-letter
            if record.out_of_time(self._clock()):  # the runner dead-letters it next
                reason = f"gave up after {record.attempts} attempts: {exc}"
                await route.give_up(command, reason)
            raise

    def _holding(self, command: LedgerCommand, held: Held, why: str) -> Held:
        self._audit.record(
            Stage.HELD,
            entity_id=command.entity_id,
            command_id=command.command_id,
            detail=f"{command.company_id}: {why}"[:500],
        )
        return held


class ApplyVismaActionHandler(WriterHandler):
    """The handler of a writer that applies `ApplyVismaAction` only."""

    def __init__(
        self,
        writer: VismaWriter,
        *,
        credentials: CompanyClients,
        audit: AuditTrail,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        routes = {ApplyVismaAction.SCHEMA: action_route(writer)}
        super().__init__(routes, credentials=credentials, audit=audit, clock=clock)
