"""Each tenant's monday client, made from its token, and what happens when monday refuses it.

A tenant's token comes from the credential vault (`--tenant-credential`) or the environment
(`--tenant-token`); tenants with the same token share one client, hence one complexity
budget. When monday refuses a token (401, UNAUTHENTICATED: `MondayAuthError`), nothing is
wrong with the commands: the tenant's commands are held (the chassis hold: uncommitted,
neither failed nor dead-lettered), an alert goes to the log and `mlc_monday_credential_invalid`
is 1. For a vault token the vault is re-read every few seconds, and a new token gives the
tenant a new client and releases its commands without a restart (`mlc secrets set`); a token
from the environment needs a restart with a new value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import Counter, Gauge
from pydantic import SecretStr

from chassis.credential_hold import CredentialHolds
from chassis.kafka.record import Held
from chassis.tokens import HolderTokens
from monday_sink.ports import BoardItems

log = logging.getLogger(__name__)

INVALID = Gauge(
    "mlc_monday_credential_invalid",
    "1 while monday refuses the tenant's token and its commands are held",
    ["tenant"],
)
ALERTS = Counter("mlc_monday_credential_alerts_total", "monday refused a token", ["tenant"])

ClientFor = Callable[[SecretStr], BoardItems]
"""Makes the client of one token."""
Replaced = Callable[[str, BoardItems], None]
"""Told that a tenant now calls with this (new) client."""


class TenantClients:
    def __init__(
        self,
        *,
        tokens: HolderTokens,
        client_for: ClientFor,
        tenants: list[str],
        refresh_seconds: float = 2.0,
    ) -> None:
        self._tokens = tokens
        self._client_for = client_for
        self._holds = CredentialHolds(refresh_seconds=refresh_seconds)
        self._by_token: dict[str, BoardItems] = {}
        self._clients = {tenant: self._client(tenant) for tenant in tenants}
        self._on_replaced: list[Replaced] = []

    def _client(self, tenant: str) -> BoardItems:
        token = self._tokens.get(tenant)
        if token is None:
            raise KeyError(f"no monday token for tenant {tenant}")
        secret = token.token.get_secret_value()
        if secret not in self._by_token:
            self._by_token[secret] = self._client_for(token.token)
        return self._by_token[secret]

    def __getitem__(self, tenant: str) -> BoardItems:
        return self._clients[tenant]

    def on_replaced(self, replaced: Replaced) -> None:
        self._on_replaced.append(replaced)

    def check(self, tenant: str) -> None:
        """Raises the tenant's `Held` while monday refuses its token."""
        held = self._holds.held(tenant)
        if held is not None:
            raise held

    def refused(self, tenant: str, *, used: BoardItems, error: str) -> Held:
        """Holds the tenant (alerting once per refused token) and returns the `Held` to
        raise; `used` is the client the refused call went through."""
        if used is not self._clients[tenant]:
            # Replaced since that call left: it simply tries again with the new one.
            return CredentialHolds.released_at_once(tenant)
        entry = self._tokens.get(tenant)
        credential = entry.credential if entry is not None else None
        if not self._holds.is_held(tenant):
            INVALID.labels(tenant).set(1)
            ALERTS.labels(tenant).inc()
            log.error(
                "ALERT: monday refused the tenant's token; its commands are held",
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
        INVALID.labels(tenant).set(0)
        log.warning("monday token replaced; held commands go on", extra={"tenant": tenant})
        return True

    def clients(self) -> list[BoardItems]:
        """Every client made so far (to close at the end)."""
        return list(self._by_token.values())

    async def aclose(self) -> None:
        await self._holds.aclose()
