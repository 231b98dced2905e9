"""The Twilio account's secret and the SendGrid key, from the credential vault.

A credential is named (`--auth-credential`, `--sendgrid-credential`) and read from the vault
when the sink starts (`mlc secrets set NAME` stores it encrypted); a value given directly
(tests, a developer's environment variable) is used as is. Either way the value is
registered with the log redactor before anything can log it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from chassis.errors import PermanentError
from chassis.jsonlog import REDACTOR
from chassis.vault import CredentialVault


class MissingCredentialError(PermanentError):
    """A secret the configuration needs is neither given nor named in the vault."""


@dataclass(frozen=True)
class CredentialSource:
    """A secret given directly, or the name of one in the vault."""

    value: SecretStr | None = None
    vault_name: str | None = None

    @property
    def configured(self) -> bool:
        return self.value is not None or self.vault_name is not None


def resolve(
    sources: dict[str, CredentialSource], *, vault: Callable[[], CredentialVault]
) -> dict[str, SecretStr]:
    """Each configured source's secret; the vault is opened (once) only if one names it."""
    opened: CredentialVault | None = None
    secrets: dict[str, SecretStr] = {}
    for purpose, source in sources.items():
        if source.value is not None:
            secret = source.value
        elif source.vault_name is not None:
            if opened is None:
                opened = vault()
                opened.load()
            secret = opened.get(source.vault_name)
        else:
            raise MissingCredentialError(f"no credential configured for {purpose}")
        REDACTOR.register(secret)
        secrets[purpose] = secret
    return secrets
