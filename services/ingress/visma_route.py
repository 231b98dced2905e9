"""POST /webhooks/visma: a Visma notification stored in Kafka before Visma hears 200.

Order of checks: the key is configured (503), the signature over the raw body (401), the
bounded body (400), the record fits in Kafka (413). Visma's signature carries no
timestamp, so a captured notification stays valid forever: an exact repeat (same body,
same notification id) within the replay window is acknowledged without a second record,
so a replay costs neither storage nor a pull of the company's Visma budget.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chassis.serde import AvroSerde
from ingress.answers import Send, refused
from ingress.config import IngressSettings
from ingress.dedupe import RecentEvents
from ingress.errors import NotAcceptingNowError, RejectedNotificationError
from ingress.storing import RecordStore
from ingress.visma import parse, verify

SOURCE = "visma"


def visma_route(
    *, settings: IngressSettings, send: Send, serde: AvroSerde, recent: RecentEvents | None = None
) -> Route:
    """The Visma route; `recent` remembers stored notification ids (a test passes a clock)."""
    if recent is None:  # not `or`: an empty memory is falsy (it has a length)
        recent = RecentEvents(
            settings.visma_recent_notifications,
            window_seconds=settings.visma_replay_window_seconds,
        )

    store = RecordStore(SOURCE, settings.visma_topic, send, recent, settings.ack_timeout_seconds)

    async def visma_webhook(request: Request) -> Response:
        body = await request.body()
        try:
            if settings.visma_webhook_secret is None:
                raise NotAcceptingNowError("no Visma webhook key configured")
            verify(settings.visma_webhook_secret, body, request.headers.get(
                settings.visma_signature_header))  # fmt: skip
            notification = parse(body)
            value = serde.encode(notification.SCHEMA, notification.to_record())
        except (RejectedNotificationError, NotAcceptingNowError) as exc:
            return refused(SOURCE, exc)

        return await store.store_once(
            notification.notification_id, key=notification.key, value=value,
            answer={"id": notification.notification_id},
        )  # fmt: skip

    return Route("/webhooks/visma", visma_webhook, methods=["POST"])
