"""Each workspace's bot token, from the environment or the credential vault, re-readable.

A token named by `--workspace-credential NAME=CREDENTIAL` lives in the credential vault, so
`mlc secrets set CREDENTIAL` can replace it without a restart: a service that sees Slack
reject a token calls `refresh`, which re-reads the vault and hands back the new token if
there is one. Tokens from the environment (`--workspace NAME=ENV_VAR`) never change. Shared
by the Slack sink and the approvals service so both read and refresh tokens the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from chassis.jsonlog import REDACTOR
from chassis.vault import CredentialVault

__all__ = ["REJECTED_TOKEN_ERRORS", "WorkspaceToken", "WorkspaceTokens"]

REJECTED_TOKEN_ERRORS = frozenset({"invalid_auth", "account_inactive", "token_revoked"})
"""Slack's answers meaning the token itself is no longer accepted (a new one is needed),
unlike missing_scope, which only a change to the Slack app can fix."""


@dataclass(frozen=True)
class WorkspaceToken:
    token: SecretStr
    credential: str | None
    """Its name in the vault; None when it came from the environment."""


class WorkspaceTokens:
    """Workspace -> token; the vault is opened (and read) once, at construction."""

    def __init__(
        self,
        *,
        tokens: Mapping[str, SecretStr],
        vault_names: Mapping[str, str],
        vault: Callable[[], CredentialVault] | None = None,
    ) -> None:
        self._vault: CredentialVault | None = None
        self._lock = asyncio.Lock()
        self._current: dict[str, WorkspaceToken] = {}
        for name, token in tokens.items():
            self._set(name, WorkspaceToken(token, None))
        if vault_names:
            if vault is None:
                raise ValueError("workspaces name vault credentials but no vault is configured")
            self._vault = vault()
            self._vault.load()
            for name, credential in vault_names.items():
                self._set(name, WorkspaceToken(self._vault.get(credential), credential))

    def _set(self, workspace: str, entry: WorkspaceToken) -> None:
        REDACTOR.register(entry.token)
        self._current[workspace] = entry

    def get(self, workspace: str) -> WorkspaceToken | None:
        return self._current.get(workspace)

    def items(self) -> list[tuple[str, WorkspaceToken]]:
        return list(self._current.items())

    async def refresh(self, workspace: str) -> WorkspaceToken | None:
        """Re-reads the vault; the workspace's new token if it was replaced there, else None.

        None for a token from the environment. Raises `VaultError` when the vault cannot be
        read (the caller decides whether to try again).
        """
        async with self._lock:  # one vault read at a time, however many records failed
            current = self._current[workspace]
            if current.credential is None or self._vault is None:
                return None
            await asyncio.to_thread(self._vault.load)
            token = self._vault.get(current.credential)
            if token.get_secret_value() == current.token.get_secret_value():
                return None
            replaced = WorkspaceToken(token, current.credential)
            self._set(workspace, replaced)
            return replaced
