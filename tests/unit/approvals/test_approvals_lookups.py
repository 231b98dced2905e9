"""Posted-message index, approver resolution with its cache, and the Slack user lookup."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from approvals_kit import (
    APPROVER_EMAIL,
    APPROVER_SLACK,
    CHANNEL_ID,
    EMPLOYEE_APPROVER,
    EMPLOYEE_EMAIL,
    EMPLOYEE_SLACK,
    MESSAGE_TS,
    SERDE,
    TENANT,
    FakeEmployees,
    FakeSlackUsers,
    config,
    delivery,
)
from pydantic import SecretStr

from approvals.approvers import Approvers, ApproversUnresolvedError
from approvals.lookups import SlackDirectory, UnknownWorkspaceError
from approvals.posted import PostedMessages
from chassis.errors import PermanentError
from events.deliveries import DeliveryStatus
from slack_client.tokens import WorkspaceTokens

pytestmark = pytest.mark.unit


def _encoded(**changes: Any) -> bytes:
    entry = delivery(**changes)
    return SERDE.encode(entry.SCHEMA, entry.to_record())


def test_only_done_posts_are_indexed_by_channel_and_ts() -> None:
    posted = PostedMessages(SERDE)
    posted.decode(_encoded(status=DeliveryStatus.PENDING, ts=None, channel_id=None,
                           external_id=None))  # fmt: skip
    assert posted.find(CHANNEL_ID, MESSAGE_TS) is None

    decoded = posted.decode(_encoded())
    assert posted.find(CHANNEL_ID, MESSAGE_TS) == decoded
    assert decoded.entity_type == "supplierInvoice"


def test_a_lookup_waits_for_an_entry_that_arrives_later_and_gives_up_at_its_bound() -> None:
    posted = PostedMessages(SERDE)
    assert asyncio.run(posted.wait_for(CHANNEL_ID, MESSAGE_TS, seconds=0.05)) is None

    async def react_before_the_ledger_is_read() -> Any:
        waiting = asyncio.create_task(posted.wait_for(CHANNEL_ID, MESSAGE_TS, seconds=30))
        await asyncio.sleep(0)  # let the wait start, then the entry lands on another thread
        writer = threading.Thread(target=posted.decode, args=(_encoded(),))
        writer.start()
        found = await waiting
        writer.join()
        return found

    found = asyncio.run(react_before_the_ledger_is_read())
    assert found is not None
    assert found.ts == MESSAGE_TS


def test_slack_ids_are_cached_until_they_expire() -> None:
    now = [0.0]
    slack = FakeSlackUsers({APPROVER_EMAIL: APPROVER_SLACK, EMPLOYEE_EMAIL: EMPLOYEE_SLACK})
    employees = FakeEmployees({f"{TENANT}/{TENANT}/employee/{EMPLOYEE_APPROVER}": EMPLOYEE_EMAIL})
    approvers = Approvers(employees=employees, slack=slack, cache_seconds=60,
                          clock=lambda: now[0])  # fmt: skip
    policy = config().policy_for(tenant_id=TENANT, company_id=TENANT, workspace="default")
    assert policy is not None

    def who(user: str) -> str | None:
        return asyncio.run(approvers.approver_for(user, policy, company_id=TENANT,
                                                  workspace="default"))  # fmt: skip

    assert who(APPROVER_SLACK) == APPROVER_EMAIL
    assert who("U0OTHER") is None
    assert who(EMPLOYEE_SLACK) == f"{EMPLOYEE_APPROVER} ({EMPLOYEE_EMAIL})"
    assert slack.calls == [APPROVER_EMAIL, EMPLOYEE_EMAIL]
    now[0] = 61
    assert who(APPROVER_SLACK) == APPROVER_EMAIL
    assert slack.calls == [APPROVER_EMAIL, EMPLOYEE_EMAIL, APPROVER_EMAIL]


def test_a_non_approver_while_an_employee_approver_is_unresolved_is_retried_not_ignored() -> None:
    approvers = Approvers(employees=FakeEmployees({}), cache_seconds=60,
                          slack=FakeSlackUsers({APPROVER_EMAIL: APPROVER_SLACK}))  # fmt: skip
    policy = config().policy_for(tenant_id=TENANT, company_id=TENANT, workspace="default")
    assert policy is not None

    # The email approver is still recognised...
    found = asyncio.run(approvers.approver_for(APPROVER_SLACK, policy, company_id=TENANT,
                                               workspace="default"))  # fmt: skip
    assert found == APPROVER_EMAIL
    # ...but anyone else might be the employee whose record has not arrived yet.
    with pytest.raises(ApproversUnresolvedError, match=EMPLOYEE_APPROVER):
        asyncio.run(approvers.approver_for(EMPLOYEE_SLACK, policy, company_id=TENANT,
                                           workspace="default"))  # fmt: skip


def _slack(handler: Any) -> SlackDirectory:
    http = httpx.AsyncClient(base_url="https://slack.test/api",
                             transport=httpx.MockTransport(handler))  # fmt: skip
    tokens = WorkspaceTokens(tokens={"default": SecretStr("xoxb-test")}, vault_names={})
    return SlackDirectory(http, tokens)


def test_users_lookup_by_email_finds_the_user_or_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/users.lookupByEmail"
        assert request.headers["authorization"] == "Bearer xoxb-test"
        if request.url.params["email"] == APPROVER_EMAIL:
            return httpx.Response(200, json={"ok": True, "user": {"id": APPROVER_SLACK}})
        return httpx.Response(200, json={"ok": False, "error": "users_not_found"})

    directory = _slack(handler)
    found = asyncio.run(directory.user_id(workspace="default", email=APPROVER_EMAIL))
    missing = asyncio.run(directory.user_id(workspace="default", email="nobody@x.se"))
    assert (found, missing) == (APPROVER_SLACK, None)


def test_a_missing_scope_or_an_unknown_workspace_is_permanent() -> None:
    directory = _slack(lambda r: httpx.Response(200, json={"ok": False, "error": "missing_scope"}))
    with pytest.raises(PermanentError):
        asyncio.run(directory.user_id(workspace="default", email=APPROVER_EMAIL))
    with pytest.raises(UnknownWorkspaceError):
        asyncio.run(directory.user_id(workspace="other", email=APPROVER_EMAIL))
