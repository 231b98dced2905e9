"""Each Twilio account's auth token, the key its status callbacks are signed with.

A callback names its account (AccountSid) and Twilio signs it with that account's auth
token, even when the connector sends with an API key. Tokens come from the credential vault
under a name per account (production), or from the environment (development), through
`VaultCredentials`: a new account or a rotated token is picked up without a restart, and
forged callbacks cost at most one vault read per interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import SecretStr

from chassis.vault import CredentialVault
from ingress.vault_credentials import VaultCredentials


class TwilioAuthTokens:
    """`tokens` from the environment win; the rest come from `vault` (None: no vault)."""

    def __init__(
        self,
        *,
        tokens: dict[str, SecretStr] | None = None,
        vault: Callable[[], CredentialVault] | None = None,
        credential: str = "twilio/{account_sid}/auth-token",
        refresh_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = VaultCredentials(
            name_of=lambda account_sid: credential.format(account_sid=account_sid),
            fixed=tokens,
            vault=vault,
            refresh_seconds=refresh_seconds,
            clock=clock,
        )

    async def token(self, account_sid: str) -> SecretStr | None:
        """The token held for this account, reading the vault once if none is held yet."""
        return await self._credentials.held(account_sid)

    async def renewed(self, account_sid: str, *, held: SecretStr | None) -> SecretStr | None:
        """A token different from `held` after reading the vault again, or None when the
        vault was read too recently or holds nothing new for this account."""
        return await self._credentials.renewed(account_sid, held=held)
