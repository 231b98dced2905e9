"""Who may approve: configured approvers, resolved to the Slack user ids that act for them.

The approvals file names people as Visma employees (numbers) or email addresses, because that
is how finance knows them; a reaction names a Slack user id. Employees are resolved to their
email through the Visma employee reference data, emails to Slack ids with
users.lookupByEmail. Answers (found or not) are cached for a while, so a busy channel does
not spend Slack's Tier 3 budget, and a person added to Slack later is found after the cache
expires. While an employee approver cannot be resolved, nobody else is declared "not an
approver": the gesture is retried instead, so a late employee record never loses an approval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from approvals.config import Policy
from chassis.errors import RetryableError

log = logging.getLogger(__name__)


class ApproversUnresolvedError(RetryableError):
    """The person matches no approver, but some approvers could not be resolved yet (their
    employee record has not arrived): deciding "not an approver" now could drop a real
    approval, so the gesture is tried again later (and dead-lettered if it never resolves)."""


class EmployeeEmails(Protocol):
    async def email_of(
        self, *, tenant_id: str, company_id: str, employee_number: str
    ) -> str | None: ...


class SlackUsers(Protocol):
    async def user_id(self, *, workspace: str, email: str) -> str | None: ...


class Approvers:
    def __init__(
        self,
        *,
        employees: EmployeeEmails,
        slack: SlackUsers,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._employees = employees
        self._slack = slack
        self._ttl = cache_seconds
        self._clock = clock
        self._ids: dict[tuple[str, str], tuple[str | None, float]] = {}

    async def approver_for(
        self, user: str, policy: Policy, *, company_id: str, workspace: str
    ) -> str | None:
        """The configured approver the Slack user acts for, or None if they may not approve."""
        unresolved = []
        for approver in policy.approvers:
            email = await self._email(approver, policy.tenant_id, company_id)
            if email is None:
                unresolved.append(approver)
            elif await self._slack_id(workspace, email) == user:
                return approver if approver == email else f"{approver} ({email})"
        if unresolved:
            raise ApproversUnresolvedError(
                f"{user} is no known approver of {policy.tenant_id}/{company_id}, and approvers "
                f"{', '.join(unresolved)} have no email in the employee records yet"
            )
        return None

    async def _email(self, approver: str, tenant_id: str, company_id: str) -> str | None:
        if "@" in approver:
            return approver.strip().lower()
        email = await self._employees.email_of(
            tenant_id=tenant_id, company_id=company_id, employee_number=approver
        )
        if email is None:
            log.warning(
                "approver has no email in the employee records",
                extra={"tenant_id": tenant_id, "company_id": company_id, "employee": approver},
            )
            return None
        return email.strip().lower()

    async def _slack_id(self, workspace: str, email: str) -> str | None:
        now = self._clock()
        cached = self._ids.get((workspace, email))
        if cached is not None and cached[1] > now:
            return cached[0]
        user_id = await self._slack.user_id(workspace=workspace, email=email)
        self._ids[(workspace, email)] = (user_id, now + self._ttl)
        return user_id
