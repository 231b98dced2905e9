"""The credential-check service's composition root: the configuration, the vault, the gauges.

`build` takes overrides so a test hands it the in-process sandbox's transport, a vault of its
own and a fresh metrics registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import SecretStr

from chassis.jsonlog import REDACTOR
from chassis.vault import CredentialVault
from credential_check.config import CheckConfig
from credential_check.metrics import CheckGauges
from credential_check.schedule import CredentialCheckService, SecretsReader

__all__ = ["SERVICE", "CheckOptions", "build", "vault_reader"]

SERVICE = "credential-check"


@dataclass(frozen=True)
class CheckOptions:
    every_seconds: float = 300.0
    transport: httpx.AsyncBaseTransport | None = None
    registry: CollectorRegistry = REGISTRY


def vault_reader(vault: CredentialVault) -> SecretsReader:
    """Loads `vault` again on each call; every secret it hands out is registered for redaction."""

    def lookup(name: str) -> SecretStr:
        value = vault.get(name)
        REDACTOR.register(value)
        return value

    def reader() -> Callable[[str], SecretStr]:
        vault.load()
        return lookup

    return reader


def build(
    config: CheckConfig, *, read_secrets: SecretsReader, options: CheckOptions
) -> CredentialCheckService:
    return CredentialCheckService(
        config,
        read_secrets=read_secrets,
        gauges=CheckGauges(options.registry),
        every_seconds=options.every_seconds,
        transport=options.transport,
    )
