"""Each tenant's monday client, made from its token, and what happens when monday refuses it.

A tenant's token comes from the credential vault (`--tenant-credential`) or the environment
(`--tenant-token`); tenants with the same token share one client, hence one complexity
budget. When monday refuses a token (401, UNAUTHENTICATED: `MondayAuthError`), nothing is
wrong with the commands: the tenant's commands are held (the chassis hold: uncommitted,
neither failed nor dead-lettered), an alert goes to the log and `mlc_monday_credential_invalid`
is 1. For a vault token the vault is re-read every few seconds, and a new token gives the
tenant a new client and releases its commands without a restart (`mlc secrets set`); a token
from the environment needs a restart with a new value. The mechanics are the chassis's
(`chassis.tenant_clients`), shared with the airbase-sink.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge
from pydantic import SecretStr

from chassis import tenant_clients
from chassis.tokens import HolderTokens
from monday_sink.ports import BoardItems

INVALID = Gauge(
    "mlc_monday_credential_invalid",
    "1 while monday refuses the tenant's token and its commands are held",
    ["tenant"],
)
ALERTS = Counter("mlc_monday_credential_alerts_total", "monday refused a token", ["tenant"])

ClientFor = Callable[[SecretStr], BoardItems]
"""Makes the client of one token."""


class TenantClients(tenant_clients.TenantClients[BoardItems]):
    def __init__(
        self,
        *,
        tokens: HolderTokens,
        client_for: ClientFor,
        tenants: list[str],
        refresh_seconds: float = 2.0,
    ) -> None:
        super().__init__(
            system="monday", tokens=tokens, client_for=lambda _, token: client_for(token),
            tenants=tenants, invalid=INVALID, alerts=ALERTS, refresh_seconds=refresh_seconds,
        )  # fmt: skip
