"""A rejected token holds its workspace; a new token in the vault releases it, live."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from chassis.kafka.record import Held
from chassis.vault import CredentialVault, KeyRing, MasterKey
from slack_sink.credentials import UnknownWorkspaceError, WorkspaceCredentials

pytestmark = pytest.mark.unit

OLD, NEW = SecretStr("xoxb-old"), SecretStr("xoxb-new")


class MemoryLog:
    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}

    def read_all(self) -> dict[str, bytes]:
        return dict(self.records)

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        self.records.update(records)


def _credentials(vault: CredentialVault) -> WorkspaceCredentials:
    return WorkspaceCredentials(
        http=httpx.AsyncClient(base_url="https://slack.test/api"),
        tokens={"env": OLD},
        vault_names={"stored": "slack/stored"},
        vault=lambda: vault,
        refresh_seconds=0.01,
    )


def _vault() -> CredentialVault:
    vault = CredentialVault(MemoryLog(), KeyRing(MasterKey.generate()))
    vault.put("slack/stored", OLD)
    return vault


def _invalid(workspace: str) -> float | None:
    return REGISTRY.get_sample_value("mlc_slack_credential_invalid", {"workspace": workspace})


async def _released(held: Held) -> None:
    await asyncio.wait_for(held.released(), timeout=5)


@pytest.mark.anyio
async def test_a_replaced_vault_token_releases_the_held_workspace() -> None:
    vault = _vault()
    credentials = _credentials(vault)
    _, token = credentials.client("stored")
    assert token.get_secret_value() == OLD.get_secret_value()

    held = credentials.rejected("stored", token, "token_revoked")
    assert _invalid("stored") == 1
    with pytest.raises(Held):
        credentials.client("stored")
    credentials.client("env")  # another workspace is not affected
    waiting = asyncio.ensure_future(_released(held))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the same token read again releases nothing

    vault.put("slack/stored", NEW)
    await waiting
    _, token = credentials.client("stored")
    assert token.get_secret_value() == NEW.get_secret_value()
    assert _invalid("stored") == 0
    # A late failure of a call made with the old token does not hold the new one.
    await _released(credentials.rejected("stored", OLD, "token_revoked"))
    credentials.client("stored")
    await credentials.aclose()


@pytest.mark.anyio
async def test_an_environment_token_stays_held_and_an_unknown_workspace_is_permanent() -> None:
    credentials = _credentials(_vault())
    held = credentials.rejected("env", OLD, "invalid_auth")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(held.released(), timeout=0.1)
    with pytest.raises(UnknownWorkspaceError):
        credentials.client("nowhere")
    await credentials.aclose()
