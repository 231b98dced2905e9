"""The bot token from the vault: the options that name it, and a re-read after Slack rejects it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest
from approvals_kit import APPROVER_EMAIL, APPROVER_SLACK
from pydantic import SecretStr

from approvals.lookups import SlackDirectory, SlackTokenRejectedError
from approvals.main import options_from, parser
from chassis.errors import PermanentError, RetryableError
from chassis.vault import CredentialVault, KeyRing, MasterKey
from slack_client.tokens import WorkspaceTokens
from slack_client.workspaces import WorkspaceSpecError

pytestmark = pytest.mark.unit

OLD, NEW = "xoxb-old", "xoxb-new"
CREDENTIAL = "slack/default"


class MemoryLog:
    """The vault's credential log in memory (the real vault class seals and unseals)."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}
        self.reads = 0

    def read_all(self) -> dict[str, bytes]:
        self.reads += 1
        return dict(self.records)

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        self.records.update(records)


def _args(*argv: str) -> list[str]:
    return ["--config", "approvals.yaml", *argv]


def test_workspace_credentials_name_vault_tokens_and_drop_the_environment_default() -> None:
    options = options_from(
        parser().parse_args(_args("--workspace-credential", "default=slack/default",
                                  "--workspace-credential", "finance=slack/finance")),
        environ={},
    )  # fmt: skip
    assert options.vault_credentials == {"default": CREDENTIAL, "finance": "slack/finance"}
    assert options.tokens == {}


def test_environment_workspaces_still_work_alone_and_beside_vault_ones() -> None:
    environ = {"SLACK_BOT_TOKEN": "xoxb-env", "OTHER": "xoxb-other"}
    alone = options_from(parser().parse_args(_args()), environ=environ)
    assert {n: t.get_secret_value() for n, t in alone.tokens.items()} == {"default": "xoxb-env"}
    assert alone.vault_credentials == {}

    both = options_from(
        parser().parse_args(_args("--workspace", "other=OTHER",
                                  "--workspace-credential", "default=slack/default")),
        environ=environ,
    )  # fmt: skip
    assert {n: t.get_secret_value() for n, t in both.tokens.items()} == {"other": "xoxb-other"}
    assert both.vault_credentials == {"default": CREDENTIAL}


@pytest.mark.parametrize("spec", ["default", "=slack/x", "default="])
def test_a_malformed_workspace_credential_is_a_clear_error(spec: str) -> None:
    with pytest.raises(WorkspaceSpecError, match="--workspace-credential"):
        options_from(parser().parse_args(_args("--workspace-credential", spec)), environ={})


def _vault(log: MemoryLog) -> CredentialVault:
    vault = CredentialVault(log, KeyRing(MasterKey.generate()))
    vault.put(CREDENTIAL, SecretStr(OLD))
    return vault


def _directory(vault: CredentialVault, revoked: set[str]) -> tuple[SlackDirectory, list[str]]:
    """users.lookupByEmail that rejects `revoked` tokens; the list records each token used."""
    used: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        used.append(token)
        if token in revoked:
            return httpx.Response(200, json={"ok": False, "error": "token_revoked"})
        return httpx.Response(200, json={"ok": True, "user": {"id": APPROVER_SLACK}})

    http = httpx.AsyncClient(base_url="https://slack.test/api",
                             transport=httpx.MockTransport(handler))  # fmt: skip
    tokens = WorkspaceTokens(tokens={}, vault_names={"default": CREDENTIAL}, vault=lambda: vault)
    return SlackDirectory(http, tokens), used


def _lookup(directory: SlackDirectory) -> str | None:
    return asyncio.run(directory.user_id(workspace="default", email=APPROVER_EMAIL))


def test_a_revoked_token_is_retryable_and_the_retry_uses_the_token_replaced_in_the_vault() -> None:
    log = MemoryLog()
    vault = _vault(log)
    directory, used = _directory(vault, revoked={OLD})
    reads = log.reads

    # Nobody has replaced it yet: retryable (the runner tries again), never permanent.
    with pytest.raises(SlackTokenRejectedError, match=f"mlc secrets set {CREDENTIAL}") as first:
        _lookup(directory)
    assert isinstance(first.value, RetryableError)
    assert not isinstance(first.value, PermanentError)
    assert log.reads == reads + 1  # the rejection made it re-read the vault

    vault.put(CREDENTIAL, SecretStr(NEW))
    with pytest.raises(SlackTokenRejectedError, match="replaced token"):
        _lookup(directory)
    assert _lookup(directory) == APPROVER_SLACK  # the runner's retry
    assert used == [OLD, OLD, NEW]


def test_an_environment_token_that_slack_rejects_is_retryable_until_a_restart() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": False, "error": "invalid_auth"})

    http = httpx.AsyncClient(base_url="https://slack.test/api",
                             transport=httpx.MockTransport(handler))  # fmt: skip
    tokens = WorkspaceTokens(tokens={"default": SecretStr(OLD)}, vault_names={})
    with pytest.raises(SlackTokenRejectedError, match="restart with a new token"):
        _lookup(SlackDirectory(http, tokens))
