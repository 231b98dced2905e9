"""Outbound adapters for the approver lookups: the employee view and Slack's user directory."""

from __future__ import annotations

import asyncio
from typing import Any

from chassis.errors import PermanentError
from chassis.kafka.view import CompactedView
from slack_client.client import SlackClient


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


class SlackDirectory:
    """users.lookupByEmail in the workspace the message was posted to."""

    def __init__(self, clients: dict[str, SlackClient]) -> None:
        self._clients = clients

    async def user_id(self, *, workspace: str, email: str) -> str | None:
        client = self._clients.get(workspace)
        if client is None:
            raise UnknownWorkspaceError(f"no Slack credential for workspace {workspace}")
        user = await client.lookup_user_by_email(email)
        return user.id if user is not None else None
