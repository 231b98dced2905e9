"""POST /webhooks/bill: a BILL vendor or bill event, in Kafka before BILL hears 200.

Checks in `ingress.bill_webhook`'s order (unsigned 401, metadata 400, unknown subscription
or wrong signature 401, fields 400). The subscription's keys come from the vault
(`ingress.bill_keys`, written by `mlc bill subscribe` and `mlc bill rotate-key`); a delivery
that fails the keys held is checked once more after reading the vault again (rate-limited),
so a key rotated a moment ago verifies without a restart. A `BillVendorChanged` goes to
`bill.vendor.v1`, a `BillBillChanged` to `bill.bill.v1`, keyed `<organization>/<id>`, and
the answer is 200 once Kafka confirmed it (503 when it did not in time). BILL retries a
delivery it did not see acknowledged: an eventId this process already stored is
acknowledged without a second record; the fact's version id lets consumers de-duplicate
across replicas, restarts and the poller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chassis.serde import AvroSerde
from chassis.vault import CredentialVault
from events.bill import BillVendorChanged
from ingress.answers import WEBHOOKS, Send, refused
from ingress.bill_keys import BillSecurityKeys, credential_name
from ingress.bill_webhook import (
    SIGNATURE_HEADER,
    Metadata,
    fact_of,
    require_signature,
    verify,
)
from ingress.config import IngressSettings
from ingress.dedupe import RecentEvents
from ingress.errors import NotAcceptingNowError, RejectedNotificationError
from ingress.storing import RecordStore
from ingress.vault_credentials import VaultCredentials

SOURCE = "bill"
PATH = "/webhooks/bill"
Now = Callable[[], datetime]
"""The time a key rotation's overlap is checked against (UTC)."""


def _now() -> datetime:
    return datetime.now(UTC)


class BillKeys:
    """Each subscription's keys as `vault` holds them (None: no vault, no keys), read again
    at most once every `refresh_seconds` of `monotonic` time (`VaultCredentials`)."""

    def __init__(
        self,
        *,
        vault: Callable[[], CredentialVault] | None = None,
        refresh_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = VaultCredentials(
            name_of=credential_name, vault=vault, refresh_seconds=refresh_seconds, clock=monotonic
        )

    async def held(self, subscription_id: str) -> BillSecurityKeys | None:
        value = await self._credentials.held(subscription_id)
        if value is None:
            return None
        return BillSecurityKeys.unsealed(credential_name(subscription_id), value)

    async def renewed(
        self, subscription_id: str, *, held: BillSecurityKeys | None
    ) -> BillSecurityKeys | None:
        """Keys different from `held` after reading the vault again, or None."""
        value = await self._credentials.renewed(
            subscription_id, held=None if held is None else held.sealed_value()
        )
        if value is None:
            return None
        return BillSecurityKeys.unsealed(credential_name(subscription_id), value)


def bill_route(
    *,
    settings: IngressSettings,
    send: Send,
    serde: AvroSerde,
    keys: BillKeys,
    recent: RecentEvents | None = None,
    clock: Now | None = None,
) -> Route:
    """`clock` says when a rotation's overlap ends (a test moves it past the window)."""
    if recent is None:  # not `or`: an empty memory is falsy (it has a length)
        recent = RecentEvents(settings.bill_recent_events)
    now = clock or _now
    timeout = settings.ack_timeout_seconds
    # One memory for both topics: an eventId is BILL's, whatever the entity.
    vendors = RecordStore(SOURCE, settings.bill_vendor_topic, send, recent, timeout)
    bills = RecordStore(SOURCE, settings.bill_bill_topic, send, recent, timeout)

    async def bill_event(request: Request) -> Response:
        body = await request.body()
        try:
            signature = require_signature(request.headers.get(SIGNATURE_HEADER))
            metadata = Metadata.read(body)
            held = await verified_keys(keys, metadata, body=body, signature=signature, now=now())
            fact = fact_of(body, metadata, held, received_at=now())
            value = None if fact is None else serde.encode(fact.SCHEMA, fact.to_record())
        except (RejectedNotificationError, NotAcceptingNowError) as exc:
            return refused(SOURCE, exc)
        if fact is None or value is None:
            # Acknowledged, so BILL neither retries it nor disables the subscription for it.
            WEBHOOKS.labels(SOURCE, "ignored").inc()
            return JSONResponse({"ok": True, "ignored": metadata.event_type})
        store = vendors if isinstance(fact, BillVendorChanged) else bills
        return await store.store_once(
            metadata.event_id, key=fact.key, value=value,
            answer={"event_id": metadata.event_id, "key": fact.key},
        )  # fmt: skip

    return Route(PATH, bill_event, methods=["POST"])


async def verified_keys(
    keys: BillKeys, metadata: Metadata, *, body: bytes, signature: str, now: datetime
) -> BillSecurityKeys:
    """The subscription's keys, once one of them verified the body."""
    held = await keys.held(metadata.subscription_id)
    if held is not None:
        try:
            verify(held, now=now, body=body, signature=signature)
            return held
        except RejectedNotificationError:
            pass  # a key rotated since the vault was read: read it again, once
    renewed = await keys.renewed(metadata.subscription_id, held=held)
    if renewed is None:
        if held is None:
            raise RejectedNotificationError(401, "no key is held for the event's subscription")
        raise RejectedNotificationError(401, "the signature does not match the subscription's key")
    verify(renewed, now=now, body=body, signature=signature)
    return renewed
