"""Credentials a webhook route checks signatures with, read from the vault as senders need them.

A webhook names whose key signed it (Twilio's AccountSid, BILL's subscriptionId) and the key
sits in the credential vault under a name derived from that id. The vault is opened on the
first request that needs it and read again, at most once every `refresh_seconds`, when a
request names an id it does not hold or fails the key it holds: a new account, a new
subscription or a rotated key is picked up without a restart, and a storm of forged requests
costs at most one vault read per interval. A vault that cannot be read (Kafka, the master
key) is a 503: the request may be fine, the ingress cannot check it now.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from pydantic import SecretStr

from chassis.vault import CredentialNotFound, CredentialVault, VaultError
from ingress.errors import NotAcceptingNowError


class VaultCredentials:
    """`fixed` credentials (the environment's, by id) win; the rest come from `vault` under
    `name_of(id)` (None: no vault)."""

    def __init__(
        self,
        *,
        name_of: Callable[[str], str],
        fixed: dict[str, SecretStr] | None = None,
        vault: Callable[[], CredentialVault] | None = None,
        refresh_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name_of = name_of
        self._fixed = dict(fixed or {})
        self._open_vault = vault
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._vault: CredentialVault | None = None
        self._loaded_at: float | None = None
        self._loading = asyncio.Lock()

    async def held(self, owner: str) -> SecretStr | None:
        """The credential held for this id, reading the vault once if none is held yet."""
        fixed = self._fixed.get(owner)
        if fixed is not None:
            return fixed
        if self._loaded_at is None:
            await self._reload()
        return self._from_vault(owner)

    async def renewed(self, owner: str, *, held: SecretStr | None) -> SecretStr | None:
        """A credential different from `held` after reading the vault again, or None when
        the vault was read too recently or holds nothing new for this id."""
        if owner in self._fixed or not await self._reload():
            return None
        fresh = self._from_vault(owner)
        if fresh is None or (held is not None and fresh == held):
            return None
        return fresh

    def _from_vault(self, owner: str) -> SecretStr | None:
        if self._vault is None:
            return None
        try:
            return self._vault.get(self._name_of(owner))
        except CredentialNotFound:
            return None
        except VaultError as exc:
            raise NotAcceptingNowError(f"the signing key is unreadable: {exc}") from exc

    async def _reload(self) -> bool:
        """Reads the vault unless it was read within the interval; True when it was read."""
        if self._open_vault is None:
            return False
        async with self._loading:
            now = self._clock()
            if self._loaded_at is not None and now - self._loaded_at < self._refresh_seconds:
                return False
            # Reading the vault is a blocking Kafka read: off the event loop. The read counts
            # once it is done, so a request arriving meanwhile waits for it (on the lock)
            # instead of looking into a vault not read yet.
            try:
                await asyncio.to_thread(self._load)
            except VaultError as exc:
                self._loaded_at = now  # a failed read counts too: no storm of reads
                raise NotAcceptingNowError(f"the vault cannot be read: {exc}") from exc
            self._loaded_at = now
            return True

    def _load(self) -> None:
        if self._vault is None and self._open_vault is not None:
            self._vault = self._open_vault()
        if self._vault is not None:
            self._vault.load()
