"""Each Twilio account's auth token, the key its status callbacks are signed with.

A callback names its account (AccountSid) and Twilio signs it with that account's auth
token, even when the connector sends with an API key. Tokens come from the credential vault
under a name per account (production), or from the environment (development). The vault is
opened on the first callback that needs it and read again, at most once every
`refresh_seconds`, when a callback names an account it does not hold or fails the token it
holds: a new account or a rotated token is picked up without a restart, and a storm of
forged callbacks costs at most one vault read per interval. A vault that cannot be read
(Kafka, the master key) is a 503: the callback is fine, the ingress cannot check it now.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from pydantic import SecretStr

from chassis.vault import CredentialNotFound, CredentialVault, VaultError
from ingress.errors import NotAcceptingNowError


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
        self._fixed = dict(tokens or {})
        self._open_vault = vault
        self._credential = credential
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._vault: CredentialVault | None = None
        self._loaded_at: float | None = None
        self._loading = asyncio.Lock()

    async def token(self, account_sid: str) -> SecretStr | None:
        """The token held for this account, reading the vault once if none is held yet."""
        fixed = self._fixed.get(account_sid)
        if fixed is not None:
            return fixed
        if self._loaded_at is None:
            await self._reload()
        return self._from_vault(account_sid)

    async def renewed(self, account_sid: str, *, held: SecretStr | None) -> SecretStr | None:
        """A token different from `held` after reading the vault again, or None when the
        vault was read too recently or holds nothing new for this account."""
        if account_sid in self._fixed or not await self._reload():
            return None
        fresh = self._from_vault(account_sid)
        if fresh is None or (held is not None and fresh == held):
            return None
        return fresh

    def _from_vault(self, account_sid: str) -> SecretStr | None:
        if self._vault is None:
            return None
        try:
            return self._vault.get(self._credential.format(account_sid=account_sid))
        except CredentialNotFound:
            return None
        except VaultError as exc:
            raise NotAcceptingNowError(f"the account's auth token is unreadable: {exc}") from exc

    async def _reload(self) -> bool:
        """Reads the vault unless it was read within the interval; True when it was read."""
        if self._open_vault is None:
            return False
        async with self._loading:
            now = self._clock()
            if self._loaded_at is not None and now - self._loaded_at < self._refresh_seconds:
                return False
            self._loaded_at = now
            # Reading the vault is a blocking Kafka read: off the event loop.
            try:
                await asyncio.to_thread(self._load)
            except VaultError as exc:
                raise NotAcceptingNowError(f"the vault cannot be read: {exc}") from exc
            return True

    def _load(self) -> None:
        if self._vault is None and self._open_vault is not None:
            self._vault = self._open_vault()
        if self._vault is not None:
            self._vault.load()
