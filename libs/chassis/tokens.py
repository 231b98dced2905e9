"""Each holder's API token (a Slack holder, a monday tenant), from the environment or the
credential vault, re-readable.

A token named in the configuration (`--holder-credential NAME=CREDENTIAL`) lives in the
credential vault, so `mlc secrets set CREDENTIAL` can replace it without a restart: a service
that sees its token refused calls `refresh`, which re-reads the vault and hands back the new
token if there is one. Tokens from the environment never change. Shared by the Slack sink,
the approvals service and the monday-sink so all read and refresh tokens the same way.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from chassis.errors import PermanentError
from chassis.jsonlog import REDACTOR
from chassis.vault import CredentialVault

__all__ = ["HolderToken", "HolderTokens", "TokenSpecError", "environment_tokens", "named_pairs"]


@dataclass(frozen=True)
class HolderToken:
    token: SecretStr
    credential: str | None
    """Its name in the vault; None when it came from the environment."""


class HolderTokens:
    """Holder -> token; the vault is opened (and read) once, at construction."""

    def __init__(
        self,
        *,
        tokens: Mapping[str, SecretStr],
        vault_names: Mapping[str, str],
        vault: Callable[[], CredentialVault] | None = None,
    ) -> None:
        self._vault: CredentialVault | None = None
        self._lock = asyncio.Lock()
        self._current: dict[str, HolderToken] = {}
        for name, token in tokens.items():
            self._set(name, HolderToken(token, None))
        if vault_names:
            if vault is None:
                raise ValueError("tokens name vault credentials but no vault is configured")
            self._vault = vault()
            self._vault.load()
            for name, credential in vault_names.items():
                self._set(name, HolderToken(self._vault.get(credential), credential))

    def _set(self, holder: str, entry: HolderToken) -> None:
        REDACTOR.register(entry.token)
        self._current[holder] = entry

    def get(self, holder: str) -> HolderToken | None:
        return self._current.get(holder)

    def items(self) -> list[tuple[str, HolderToken]]:
        return list(self._current.items())

    async def refresh(self, holder: str) -> HolderToken | None:
        """Re-reads the vault; the holder's new token if it was replaced there, else None.

        None for a token from the environment. Raises `VaultError` when the vault cannot be
        read (the caller decides whether to try again).
        """
        async with self._lock:  # one vault read at a time, however many records failed
            current = self._current[holder]
            if current.credential is None or self._vault is None:
                return None
            await asyncio.to_thread(self._vault.load)
            token = self._vault.get(current.credential)
            if token.get_secret_value() == current.token.get_secret_value():
                return None
            replaced = HolderToken(token, current.credential)
            self._set(holder, replaced)
            return replaced


class TokenSpecError(PermanentError):
    """A token option is malformed or names an unset variable; a restart with a fixed option
    is the only cure."""


def named_pairs(option: str, specs: Sequence[str], *, metavar: str) -> dict[str, str]:
    """`NAME=VALUE` options as holder -> value; `metavar` names the expected form."""
    pairs = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name or not value:
            raise TokenSpecError(f"{option} {spec!r}: expected {metavar}")
        pairs[name] = value
    return pairs


def environment_tokens(
    option: str, specs: Sequence[str], *, kind: str, environ: Mapping[str, str] = os.environ
) -> dict[str, SecretStr]:
    """Holder -> token from `NAME=ENV_VAR` options; an unset or empty variable is an error
    now rather than a refused call later. `kind` names the holders (workspace, tenant)."""
    tokens = {}
    for name, variable in named_pairs(option, specs, metavar="NAME=ENV_VAR").items():
        value = environ.get(variable)
        if not value:
            raise TokenSpecError(f"{kind} {name}: environment variable {variable} is not set")
        tokens[name] = SecretStr(value)
    return tokens
