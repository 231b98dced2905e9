"""Outbound adapters for the approver lookups: the employee view and Slack's user directory."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from chassis.errors import PermanentError, RetryableError
from chassis.kafka.view import CompactedView
from chassis.vault import VaultError
from slack_client.client import SlackClient
from slack_client.errors import SlackCredentialError
from slack_client.tokens import REJECTED_TOKEN_ERRORS, WorkspaceToken, WorkspaceTokens

log = logging.getLogger(__name__)


class UnknownWorkspaceError(PermanentError):
    """A message was posted to a Slack workspace this service has no credential for."""


class ViewEmployees:
    """Employee emails from the compacted `visma.employee.v1` topic (the processor's key)."""

    def __init__(self, view: CompactedView[dict[str, Any]], *, wait_seconds: float) -> None:
        self._view = view
        self._wait = wait_seconds

    async def email_of(
        self, *, tenant_id: str, company_id: str, employee_number: str
    ) -> str | None:
        key = f"{tenant_id}/{company_id}/employee/{employee_number}"
        record = self._view.get(key)
        if record is None and self._wait > 0:
            record = await asyncio.to_thread(self._view.wait_for, key, self._wait)
        if record is None:
            return None
        email = (record.get("employee") or {}).get("email")
        return str(email) if email else None


class SlackTokenRejectedError(RetryableError):
    """Slack no longer accepts the workspace's token. For a vault credential the vault has
    been re-read, so a retry uses the token `mlc secrets set` put there; for a token from the
    environment only a restart with a new value helps, and the gesture waits in Kafka."""


class SlackDirectory:
    """users.lookupByEmail in the workspace the message was posted to."""

    def __init__(self, http: httpx.AsyncClient, tokens: WorkspaceTokens) -> None:
        self._http = http
        self._tokens = tokens

    async def user_id(self, *, workspace: str, email: str) -> str | None:
        entry = self._tokens.get(workspace)
        if entry is None:
            raise UnknownWorkspaceError(f"no Slack credential for workspace {workspace}")
        try:
            user = await SlackClient(self._http, token=entry.token).lookup_user_by_email(email)
        except SlackCredentialError as exc:
            if exc.error not in REJECTED_TOKEN_ERRORS:
                raise
            raise await self._rejected(workspace, entry, exc.error) from exc
        return user.id if user is not None else None

    async def _rejected(
        self, workspace: str, entry: WorkspaceToken, error: str
    ) -> SlackTokenRejectedError:
        where = f"workspace {workspace}: Slack rejected the token ({error})"
        if entry.credential is None:
            log.error(where, extra={"fix": "restart with a new token"})
            return SlackTokenRejectedError(f"{where}; restart with a new token")
        try:
            replaced = await self._tokens.refresh(workspace)
        except VaultError as exc:
            return SlackTokenRejectedError(f"{where}; cannot re-read the vault: {exc}")
        if replaced is not None:
            log.warning("Slack credential replaced in the vault", extra={"workspace": workspace})
            return SlackTokenRejectedError(f"{where}; retrying with the replaced token")
        log.error(where, extra={"fix": f"mlc secrets set {entry.credential}"})
        return SlackTokenRejectedError(f"{where}; waiting for mlc secrets set {entry.credential}")
