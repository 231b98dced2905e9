"""The Twilio account's secret and the SendGrid key, from the credential vault, and what
happens when a provider refuses one.

A credential is named (`--auth-credential`, `--sendgrid-credential`) and read from the vault
when the sink starts (`mlc secrets set NAME` stores it encrypted); a value given directly
(tests, a developer's environment variable) is used as is. Either way the value is
registered with the log redactor before anything can log it.

A refused credential (Twilio 20003, SendGrid 401/403) is no fault of the alerts: instead of
failing or dead-lettering them, every command for that provider is held (`Held`: kept
uncommitted, neither sent nor dead-lettered) and an alert goes to the logs. For a vault
credential the vault is re-read every few seconds, and a new value releases the held
commands without a restart; a value from the environment needs a restart with a new one.
The hold itself is the chassis's (`chassis.credential_hold`), shared with the other sinks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge
from pydantic import SecretStr

from chassis.credential_hold import CredentialHolds
from chassis.errors import CredentialRefused
from chassis.jsonlog import REDACTOR
from chassis.kafka.record import Held
from chassis.vault import CredentialVault

log = logging.getLogger(__name__)

INVALID = Gauge(
    "mlc_twilio_credential_invalid",
    "1 while a provider refuses the sink's credential and its commands are held",
    ["provider"],
)
ALERTS = Counter(
    "mlc_twilio_credential_alerts_total", "A provider refused a credential", ["provider"]
)


class MissingCredentialError(CredentialRefused):
    """A secret the configuration needs is neither given nor named in the vault."""


@dataclass(frozen=True)
class CredentialSource:
    """A secret given directly, or the name of one in the vault."""

    value: SecretStr | None = None
    vault_name: str | None = None

    @property
    def configured(self) -> bool:
        return self.value is not None or self.vault_name is not None


class ProviderSecrets:
    """Each provider's secret; the vault is opened (once) only if a source names it."""

    def __init__(
        self, sources: dict[str, CredentialSource], *, vault: Callable[[], CredentialVault]
    ) -> None:
        self._sources = sources
        self._open_vault = vault
        self._vault: CredentialVault | None = None
        self._current: dict[str, SecretStr] = {}
        for provider, source in sources.items():
            if source.value is not None:
                secret = source.value
            elif source.vault_name is not None:
                secret = self._opened().get(source.vault_name)
            else:
                raise MissingCredentialError(f"no credential configured for {provider}")
            REDACTOR.register(secret)
            self._current[provider] = secret

    def _opened(self) -> CredentialVault:
        if self._vault is None:
            self._vault = self._open_vault()
            self._vault.load()
        return self._vault

    def __getitem__(self, provider: str) -> SecretStr:
        return self._current[provider]

    def in_vault(self, provider: str) -> bool:
        return self._sources[provider].vault_name is not None

    async def replaced(self, provider: str) -> SecretStr | None:
        """Re-reads the vault: the provider's new secret if it changed there, else None."""
        name = self._sources[provider].vault_name
        if name is None:
            return None
        vault = self._opened()
        await asyncio.to_thread(vault.load)
        secret = vault.get(name)
        if secret.get_secret_value() == self._current[provider].get_secret_value():
            return None
        REDACTOR.register(secret)
        self._current[provider] = secret
        return secret


def resolve(
    sources: dict[str, CredentialSource], *, vault: Callable[[], CredentialVault]
) -> dict[str, SecretStr]:
    """Each configured source's secret (see `ProviderSecrets`)."""
    secrets = ProviderSecrets(sources, vault=vault)
    return {provider: secrets[provider] for provider in sources}


Use = Callable[[SecretStr], None]
"""Makes a provider's client call with a new secret."""


class RefusedCredentials:
    """Holds a provider's commands while it refuses the sink's credential."""

    def __init__(
        self,
        secrets: ProviderSecrets,
        *,
        use: dict[str, Use],
        refresh_seconds: float = 2.0,
    ) -> None:
        self._secrets = secrets
        self._use = use
        self._holds = CredentialHolds(refresh_seconds=refresh_seconds)

    def check(self, provider: str) -> None:
        """Raises the provider's `Held` while its credential is refused."""
        held = self._holds.held(provider)
        if held is not None:
            raise held

    def refused(self, provider: str, *, error: str, used: SecretStr) -> Held:
        """Marks the provider held (once per refused secret) and returns the `Held` to raise;
        `used` is the secret the refused call carried."""
        if used.get_secret_value() != self._secrets[provider].get_secret_value():
            # Replaced since that call left: it simply tries again with the new one.
            return CredentialHolds.released_at_once(provider)
        in_vault = self._secrets.in_vault(provider)
        if not self._holds.is_held(provider):
            INVALID.labels(provider).set(1)
            ALERTS.labels(provider).inc()
            log.error(
                "ALERT: the provider refused the sink's credential; its commands are held",
                extra={
                    "provider": provider,
                    "error": error,
                    "fix": "mlc secrets set (the sink picks it up)"
                    if in_vault
                    else "restart with a new secret",
                },
            )
        replaced = (lambda: self._replaced(provider)) if in_vault else None
        return self._holds.hold(provider, replaced=replaced)

    async def _replaced(self, provider: str) -> bool:
        secret = await self._secrets.replaced(provider)
        if secret is None:
            return False
        self._use[provider](secret)
        INVALID.labels(provider).set(0)
        log.warning("credential replaced; held commands go on", extra={"provider": provider})
        return True

    def secret(self, provider: str) -> SecretStr:
        return self._secrets[provider]

    async def aclose(self) -> None:
        await self._holds.aclose()
