"""POST /webhooks/airbase: an Airbase webhook, in Kafka before Airbase hears 200.

Checks: the tenant (`?tenant=`, or the ingress's default) 400, and 404 when
`MLC_INGRESS_AIRBASE_TENANTS` lists the tenants taken and not it; when the tenant has a signing
secret (the vault, `MLC_INGRESS_AIRBASE_SECRET_CREDENTIAL`), a missing or wrong
`X-Airbase-Signature` 401, after reading the vault once more (rate-limited) so a secret set or
rotated a moment ago verifies without a restart; the body 400 (bounded fields, naming the
field, never echoing a value). Then an `AirbaseWebhookReceived` keyed by tenant goes to
`airbase.webhook.v1` and the answer is 200 once Kafka confirmed it (503 when it did not in
time). Airbase delivers at least once: an event id this process already stored for the tenant
is acknowledged without a second record. Without a secret the webhook is taken unsigned: it
only nudges the airbase-poller's pull, which reads the truth from the API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chassis.serde import AvroSerde
from chassis.vault import CredentialVault
from ingress.airbase_webhook import nudge_of, read_body, signature_matches
from ingress.answers import Send, refused
from ingress.config import IngressSettings
from ingress.dedupe import RecentEvents
from ingress.errors import NotAcceptingNowError, RejectedNotificationError
from ingress.storing import RecordStore
from ingress.vault_credentials import VaultCredentials

SOURCE = "airbase"
PATH = "/webhooks/airbase"
MAX_TENANT = 255


class AirbaseSigningSecrets:
    """Each tenant's webhook signing secret: `secrets` from the environment win (development);
    the rest come from `vault` under `credential` with `{tenant}` replaced (None: no vault)."""

    def __init__(
        self,
        *,
        secrets: dict[str, SecretStr] | None = None,
        vault: Callable[[], CredentialVault] | None = None,
        credential: str = "airbase/{tenant}/webhook-secret",
        refresh_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = VaultCredentials(
            name_of=lambda tenant: credential.format(tenant=tenant), fixed=secrets, vault=vault,
            refresh_seconds=refresh_seconds, clock=clock,
        )  # fmt: skip

    async def held(self, tenant_id: str) -> SecretStr | None:
        return await self._credentials.held(tenant_id)

    async def renewed(self, tenant_id: str, *, held: SecretStr | None) -> SecretStr | None:
        """A secret different from `held` after reading the vault again (rate-limited)."""
        return await self._credentials.renewed(tenant_id, held=held)


def airbase_route(
    *,
    settings: IngressSettings,
    send: Send,
    serde: AvroSerde,
    secrets: AirbaseSigningSecrets,
    recent: RecentEvents | None = None,
) -> Route:
    if recent is None:  # not `or`: an empty memory is falsy (it has a length)
        recent = RecentEvents(settings.airbase_recent_events)
    store = RecordStore(SOURCE, settings.airbase_topic, send, recent, settings.ack_timeout_seconds)

    async def airbase_event(request: Request) -> Response:
        body = await request.body()
        try:
            tenant_id = tenant_of(request, default=settings.airbase_default_tenant,
                                  known=settings.airbase_tenants)  # fmt: skip
            signed = await verified(request, body=body, tenant_id=tenant_id, settings=settings,
                                    secrets=secrets)  # fmt: skip
            webhook = read_body(body)
            nudge = nudge_of(webhook, tenant_id=tenant_id, signed=signed,
                             received_at=datetime.now(UTC))  # fmt: skip
            value = serde.encode(nudge.SCHEMA, nudge.to_record())
        except (RejectedNotificationError, NotAcceptingNowError) as exc:
            return refused(SOURCE, exc)
        return await store.store_once(
            f"{tenant_id}/{nudge.event_id}", key=nudge.key, value=value,
            answer={"event_id": nudge.event_id, "tenant": tenant_id},
        )  # fmt: skip

    return Route(PATH, airbase_event, methods=["POST"])


def tenant_of(request: Request, *, default: str | None, known: list[str] | None) -> str:
    """The webhook's tenant; with `known` set, one of them (404 otherwise)."""
    tenant = request.query_params.get("tenant") or default
    if not tenant:
        raise RejectedNotificationError(400, "tenant: the webhook URL names none (?tenant=)")
    if len(tenant) > MAX_TENANT or not tenant.isprintable():
        raise RejectedNotificationError(400, "tenant: not a tenant id")
    if known is not None and tenant not in known:
        raise RejectedNotificationError(404, "tenant: not one whose webhooks are taken here")
    return tenant


async def verified(
    request: Request,
    *,
    body: bytes,
    tenant_id: str,
    settings: IngressSettings,
    secrets: AirbaseSigningSecrets,
) -> bool:
    """True when the tenant's secret verified the body; False when the tenant has none.
    A tenant with a secret and a missing or wrong signature is a 401."""
    header = request.headers.get(settings.airbase_signature_header)
    prefix = settings.airbase_signature_prefix
    held = await secrets.held(tenant_id)
    if held is None:
        # A secret configured since the vault was read is used at once (rate-limited read).
        held = await secrets.renewed(tenant_id, held=None)
        if held is None:
            return False
    if signature_matches(held, body=body, header=header, prefix=prefix):
        return True
    if not header:
        raise RejectedNotificationError(401, f"unsigned: no {settings.airbase_signature_header}")
    renewed = await secrets.renewed(tenant_id, held=held)  # a secret rotated a moment ago
    if renewed is not None and signature_matches(renewed, body=body, header=header, prefix=prefix):
        return True
    raise RejectedNotificationError(401, "the signature does not match the tenant's secret")
