"""Each tenant's API client, made from its token, and what happens when the system refuses it.

Shared by the sinks that call one account per tenant with a static token (monday, Airbase).
A tenant's token comes from the credential vault or the environment (`HolderTokens`); tenants
with the same token share one client (hence one rate budget) unless the sink says otherwise
(`share_key`). When the system refuses a token (401), nothing is wrong with the commands: the
tenant's commands are held (the chassis hold: uncommitted, neither failed nor dead-lettered),
an alert goes to the log once and the sink's `invalid` gauge is 1. For a vault token the vault
is re-read every few seconds, and a new token gives the tenant a new client and releases its
commands without a restart (`mlc secrets set`); a token from the environment needs a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge
from pydantic import SecretStr

from chassis.credential_hold import CredentialHolds
from chassis.kafka.record import Held
from chassis.tokens import HolderTokens

__all__ = ["TenantClients"]

log = logging.getLogger(__name__)

ClientT = TypeVar("ClientT")

ShareKey = Callable[[str, SecretStr], str]
"""Which tenants share a client: those whose (tenant, token) give the same key."""


def _by_token(tenant: str, token: SecretStr) -> str:
    return token.get_secret_value()


class TenantClients(Generic[ClientT]):
    def __init__(
        self,
        *,
        system: str,
        tokens: HolderTokens,
        client_for: Callable[[str, SecretStr], ClientT],
        tenants: list[str],
        invalid: Gauge,
        alerts: Counter,
        refresh_seconds: float = 2.0,
        share_key: ShareKey = _by_token,
    ) -> None:
        """`client_for(tenant, token)` makes a client; `invalid` and `alerts` are the sink's
        metrics, labelled by tenant."""
        self._system = system
        self._tokens = tokens
        self._client_for = client_for
        self._invalid = invalid
        self._alerts = alerts
        self._share_key = share_key
        self._holds = CredentialHolds(refresh_seconds=refresh_seconds)
        self._shared: dict[str, ClientT] = {}
        self._clients = {tenant: self._client(tenant) for tenant in tenants}
        self._on_replaced: list[Callable[[str, ClientT], None]] = []

    def _client(self, tenant: str) -> ClientT:
        token = self._tokens.get(tenant)
        if token is None:
            raise KeyError(f"no {self._system} token for tenant {tenant}")
        key = self._share_key(tenant, token.token)
        if key not in self._shared:
            self._shared[key] = self._client_for(tenant, token.token)
        return self._shared[key]

    def __getitem__(self, tenant: str) -> ClientT:
        return self._clients[tenant]

    def __contains__(self, tenant: object) -> bool:
        return tenant in self._clients

    def on_replaced(self, replaced: Callable[[str, ClientT], None]) -> None:
        """`replaced(tenant, client)` is told that a tenant now calls with a new client."""
        self._on_replaced.append(replaced)

    def check(self, tenant: str) -> None:
        """Raises the tenant's `Held` while the system refuses its token."""
        held = self._holds.held(tenant)
        if held is not None:
            raise held

    def refused(self, tenant: str, *, used: ClientT, error: str) -> Held:
        """Holds the tenant (alerting once per refused token) and returns the `Held` to
        raise; `used` is the client the refused call went through."""
        if used is not self._clients[tenant]:
            # Replaced since that call left: it simply tries again with the new one.
            return CredentialHolds.released_at_once(tenant)
        entry = self._tokens.get(tenant)
        credential = entry.credential if entry is not None else None
        if not self._holds.is_held(tenant):
            self._invalid.labels(tenant).set(1)
            self._alerts.labels(tenant).inc()
            log.error(
                f"ALERT: {self._system} refused the tenant's token; its commands are held",
                extra={
                    "tenant": tenant,
                    "error": error,
                    "credential": credential or "environment",
                    "fix": f"mlc secrets set {credential}"
                    if credential
                    else "restart with a new token",
                },
            )
        replaced = None if credential is None else lambda: self._replaced(tenant)
        return self._holds.hold(tenant, replaced=replaced)

    async def _replaced(self, tenant: str) -> bool:
        """Re-reads the vault; a different token gives the tenant a new client."""
        token = await self._tokens.refresh(tenant)
        if token is None:
            return False
        client = self._client(tenant)
        self._clients[tenant] = client
        for replaced in self._on_replaced:
            replaced(tenant, client)
        self._invalid.labels(tenant).set(0)
        log.warning(f"{self._system} token replaced; held commands go on", extra={"tenant": tenant})
        return True

    def clients(self) -> list[ClientT]:
        """Every client made so far (to close at the end)."""
        return list(self._shared.values())

    async def aclose(self) -> None:
        await self._holds.aclose()
