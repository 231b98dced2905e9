"""POST /webhooks/monday: monday's board webhooks, a column change in Kafka before monday hears 200.

The registration handshake (`{"challenge": …}`) is answered with the same JSON. Any other
request, in this order: the signing secret is configured with the public URL monday signs
for (503 otherwise), the JWT in `Authorization` (401), the tenant (the `tenant` query
parameter of the registered URL, covered by the JWT's `aud`, or the configured default: 400
without one), the bounded body (400), the record fits in Kafka (413). A column change goes
to `monday.column-change.v1` keyed by board/item, acknowledged once Kafka confirmed it;
other events are acknowledged and not stored. monday retries a delivery for 30 minutes with
the same triggerUuid: a trigger this process stored is acknowledged without a second record
(consumers act on the change's meaning, so another replica's copy is harmless too).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chassis.serde import AvroSerde
from events.monday import MondayColumnChanged
from ingress.answers import WEBHOOKS, Send, refused
from ingress.config import IngressSettings
from ingress.dedupe import RecentEvents
from ingress.errors import NotAcceptingNowError, RejectedNotificationError
from ingress.monday import MAX_TOKEN_LENGTH, challenge_of, parse, verify
from ingress.storing import RecordStore

SOURCE = "monday"
PATH = "/webhooks/monday"
TENANT_PARAMETER = "tenant"
MAX_TENANT_LENGTH = 255


def monday_route(
    *, settings: IngressSettings, send: Send, serde: AvroSerde, recent: RecentEvents | None = None
) -> Route:
    if recent is None:  # not `or`: an empty memory is falsy (it has a length)
        recent = RecentEvents(settings.monday_recent_triggers)
    store = RecordStore(SOURCE, settings.monday_topic, send, recent, settings.ack_timeout_seconds)

    async def monday_webhook(request: Request) -> Response:
        body = await request.body()
        challenge = challenge_of(body)
        if challenge is not None:
            WEBHOOKS.labels(SOURCE, "challenge").inc()
            return JSONResponse(challenge)
        try:
            change = read_signed(request, body, settings=settings)
            if change is None:
                WEBHOOKS.labels(SOURCE, "ignored").inc()
                return JSONResponse({"ok": True, "stored": False})
            value = serde.encode(change.SCHEMA, change.to_record())
        except (RejectedNotificationError, NotAcceptingNowError) as exc:
            return refused(SOURCE, exc)
        return await store.store_once(
            change.trigger_uuid, key=change.key, value=value,
            answer={"trigger_uuid": change.trigger_uuid},
        )  # fmt: skip

    return Route(PATH, monday_webhook, methods=["POST"])


def read_signed(
    request: Request, body: bytes, *, settings: IngressSettings
) -> MondayColumnChanged | None:
    account_id = None
    secret = settings.monday_signing_secret
    if secret is not None:
        public_url = settings.monday_webhook_url
        if public_url is None:
            raise NotAcceptingNowError("no public monday webhook URL configured")
        query = request.scope["query_string"].decode("latin-1")
        audience = f"{public_url}?{query}" if query else public_url
        token = request.headers.get("authorization")
        claims = verify(secret, token, audience=audience, leeway=settings.monday_jwt_leeway_seconds)
        account = claims.get("accountId")
        account_id = None if account is None else str(account)[:MAX_TOKEN_LENGTH]
    return parse(body, tenant_id=tenant_of(request, settings), account_id=account_id)


def tenant_of(request: Request, settings: IngressSettings) -> str:
    tenant = request.query_params.get(TENANT_PARAMETER) or settings.monday_default_tenant
    if not tenant:
        raise RejectedNotificationError(
            400, "no tenant: register the webhook URL with ?tenant=<id> or configure a default"
        )
    if len(tenant) > MAX_TENANT_LENGTH:
        raise RejectedNotificationError(400, f"tenant: at most {MAX_TENANT_LENGTH} characters")
    return tenant
