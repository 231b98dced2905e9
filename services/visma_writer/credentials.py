"""Each company's Visma client, and a new one when its client secret is replaced.

When Visma refuses a company's credentials, that company's commands are held (the chassis's
`chassis.credential_hold`), other companies go on. A secret named in the companies file by
`credential:` lives in the credential vault, so `mlc secrets set` fixes it: while the company
is held, the vault is re-read every `refresh_seconds`, and a different secret builds a new
client for the company and releases its commands without a restart. Whatever the secret's
source, the commands are also tried again every `hold_seconds`, since Visma may have
re-enabled the same client meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client import Gauge
from pydantic import SecretStr

from chassis.credential_hold import CredentialHolds, Replaced
from chassis.http import RetryPolicy
from chassis.jsonlog import REDACTOR
from chassis.kafka.record import Held
from chassis.vault import CredentialVault
from visma_client import SupplierInvoiceActions, VismaClient, company_client
from visma_client.companies import CompaniesFile, CompanyAccess
from visma_writer.writer import InvoiceActions

log = logging.getLogger(__name__)

REFUSED = Gauge(
    "mlc_visma_writer_credential_refused",
    "1 while Visma refuses a company's credentials and its commands are held",
    ["company"],
)

CompanyKey = tuple[str, str]
"""(tenant id, company id)."""


@dataclass
class _Company:
    access: CompanyAccess
    secret: SecretStr
    generation: int = 0
    """Bumped with each new secret; tells a failure with the old one from one with the new."""


@dataclass(frozen=True)
class ClientSettings:
    """How to build a company's client (the same for every secret it gets)."""

    file: CompaniesFile[CompanyAccess]
    transport: httpx.AsyncBaseTransport | None
    retry: RetryPolicy
    time_scale: float


class CompanyClients:
    """Company -> its `InvoiceActions` and `VismaClient`: the live mappings the writers read."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        vault: Callable[[], CredentialVault],
        hold_seconds: float,
        refresh_seconds: float = 2.0,
    ) -> None:
        self._settings = settings
        self._hold_seconds = hold_seconds
        self._holds = CredentialHolds(refresh_seconds=refresh_seconds)
        self._vault: CredentialVault | None = None
        if any(c.credential is not None for c in settings.file.companies):
            self._vault = vault()
            self._vault.load()
        self.actions: dict[CompanyKey, InvoiceActions] = {}
        self.clients: dict[CompanyKey, VismaClient] = {}
        """Each company's current client, for the document writes (`documents.py`)."""
        self._companies: dict[CompanyKey, _Company] = {}
        self._http: list[httpx.AsyncClient] = []
        for access in settings.file.companies:
            key = (access.tenant_id, access.company_id)
            self._companies[key] = _Company(access, self._secret_of(access))
            self._connect(key)

    def _secret_of(self, access: CompanyAccess) -> SecretStr:
        if access.credential is None:
            secret = access.env_secret()
        else:
            assert self._vault is not None
            secret = self._vault.get(access.credential)
        REDACTOR.register(secret)
        return secret

    def _connect(self, key: CompanyKey) -> None:
        company, s = self._companies[key], self._settings
        client, clients = company_client(
            s.file, company.access, company.secret,
            transport=s.transport, retry=s.retry, time_scale=s.time_scale,
        )  # fmt: skip
        self.actions[key] = SupplierInvoiceActions(client)
        self.clients[key] = client
        # Old clients stay open until the end: a call may still be on its way through one.
        self._http += clients

    def generation(self, key: CompanyKey) -> int:
        company = self._companies.get(key)
        return 0 if company is None else company.generation

    def held(self, key: CompanyKey) -> Held | None:
        """The `Held` to raise while Visma refuses the company's credentials."""
        return self._holds.held(_holder(key))

    def refused(self, key: CompanyKey, *, generation: int, error: str) -> Held:
        """Holds the company (once per refused secret) and returns the `Held` to raise."""
        company = self._companies[key]
        if generation != company.generation:
            return CredentialHolds.released_at_once(_holder(key))  # refused the old secret
        if not self._holds.is_held(_holder(key)):
            REFUSED.labels(_holder(key)).set(1)
            where = company.access.credential
            log.error(
                "ALERT: Visma refused the company's credentials; its commands are held",
                extra={
                    "company": _holder(key),
                    "error": error[:300],
                    "credential": where or company.access.client_secret_env,
                    "fix": f"mlc secrets set {where}" if where else "restart with a new secret",
                    "retry_seconds": self._hold_seconds,
                },
            )
        return self._holds.hold(_holder(key), replaced=self._replaced_check(key))

    def _replaced_check(self, key: CompanyKey) -> Replaced:
        try_again_at = time.monotonic() + self._hold_seconds

        async def replaced() -> bool:
            if await self._reread(key):
                return True
            if time.monotonic() >= try_again_at:
                REFUSED.labels(_holder(key)).set(0)
                return True  # the same secret, tried again: Visma may take it now
            return False

        return replaced

    async def _reread(self, key: CompanyKey) -> bool:
        """Re-reads the vault; a different secret for the company gets a new client."""
        company = self._companies[key]
        if company.access.credential is None or self._vault is None:
            return False
        vault, name = self._vault, company.access.credential
        await asyncio.to_thread(vault.load)
        secret = vault.get(name)
        if secret.get_secret_value() == company.secret.get_secret_value():
            return False
        REDACTOR.register(secret)
        company.secret = secret
        company.generation += 1
        self._connect(key)
        REFUSED.labels(_holder(key)).set(0)
        log.warning("Visma credential replaced; held commands go on",
                    extra={"company": _holder(key)})  # fmt: skip
        return True

    async def aclose(self) -> None:
        await self._holds.aclose()
        for client in self._http:
            await client.aclose()


def _holder(key: CompanyKey) -> str:
    return "/".join(key)
