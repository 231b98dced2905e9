"""Each workspace's bot token, and whether Slack still accepts it.

When Slack answers invalid_auth, account_inactive or token_revoked, the workspace is marked
invalid: an alert goes to the logs and to `mlc_slack_credential_invalid`, and every command
for it is held (kept uncommitted, neither posted nor dead-lettered) until the credential is
fixed. A token stored in the credential vault is fixed by `mlc secrets set`: while a
workspace is held, the vault is re-read every few seconds and a different token releases
the held commands without a restart. A token from the environment can only be fixed by a
restart with the new value; its commands wait in Kafka meanwhile. The hold itself is the
chassis's (`chassis.credential_hold`), shared with the Visma writer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client import Counter, Gauge
from pydantic import SecretStr

from chassis.credential_hold import CredentialHolds
from chassis.errors import PermanentError
from chassis.kafka.record import Held
from chassis.vault import CredentialVault
from slack_client.client import SlackClient
from slack_client.tokens import WorkspaceToken, WorkspaceTokens

log = logging.getLogger(__name__)

INVALID = Gauge(
    "mlc_slack_credential_invalid",
    "1 while Slack rejects a workspace's token and its commands are held",
    ["workspace"],
)
ALERTS = Counter(
    "mlc_slack_credential_alerts_total",
    "Slack rejected a workspace's token",
    ["workspace", "error"],
)


class UnknownWorkspaceError(PermanentError):
    """The command names a Slack workspace this sink has no credential for."""


@dataclass
class _Workspace:
    token: SecretStr
    client: SlackClient
    vault_name: str | None


class WorkspaceCredentials:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        tokens: dict[str, SecretStr],
        vault_names: dict[str, str],
        vault: Callable[[], CredentialVault] | None = None,
        refresh_seconds: float = 2.0,
    ) -> None:
        self._http = http
        self._tokens = WorkspaceTokens(tokens=tokens, vault_names=vault_names, vault=vault)
        self._holds = CredentialHolds(refresh_seconds=refresh_seconds)
        self._workspaces: dict[str, _Workspace] = {
            name: self._workspace(entry) for name, entry in self._tokens.items()
        }

    def _workspace(self, entry: WorkspaceToken) -> _Workspace:
        client = SlackClient(self._http, token=entry.token)
        return _Workspace(entry.token, client, entry.credential)

    def client(self, workspace: str) -> tuple[SlackClient, SecretStr]:
        """The client to post with and the token it uses; raises `Held` while it is invalid."""
        found = self._workspaces.get(workspace)
        if found is None:
            raise UnknownWorkspaceError(f"no Slack credential for workspace {workspace}")
        held = self._holds.held(workspace)
        if held is not None:
            raise held
        return found.client, found.token

    def rejected(self, workspace: str, token: SecretStr, error: str) -> Held:
        """Marks the workspace invalid (once per bad token) and returns the `Held` to raise."""
        found = self._workspaces[workspace]
        if found.token.get_secret_value() != token.get_secret_value():
            # Another command already saw this token fail and it has been replaced since.
            return CredentialHolds.released_at_once(workspace)
        if not self._holds.is_held(workspace):
            INVALID.labels(workspace).set(1)
            ALERTS.labels(workspace, error).inc()
            log.error(
                "ALERT: Slack rejected the workspace credential; its commands are held",
                extra={
                    "workspace": workspace,
                    "error": error,
                    "credential": found.vault_name or "environment",
                    "fix": f"mlc secrets set {found.vault_name}"
                    if found.vault_name
                    else "restart with a new token",
                },
            )
        replaced = None if found.vault_name is None else lambda: self._replaced(workspace)
        return self._holds.hold(workspace, replaced=replaced)

    async def _replaced(self, workspace: str) -> bool:
        """Re-reads the vault; a different token replaces the workspace's client."""
        replaced = await self._tokens.refresh(workspace)
        if replaced is None:
            return False
        self._workspaces[workspace] = self._workspace(replaced)
        INVALID.labels(workspace).set(0)
        log.warning(
            "Slack credential replaced; held commands go on", extra={"workspace": workspace}
        )
        return True

    async def aclose(self) -> None:
        await self._holds.aclose()
