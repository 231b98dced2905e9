"""POST /webhooks/slack: Slack Events API deliveries, stored in Kafka before Slack hears 200.

Order of checks: the signature over the raw body (401), the envelope (400), then one of
three answers: the url_verification challenge; 200 for a signed event the connector does
not act on (counted, not stored); or, for a reaction or a thread reply, a
`SlackEventReceived` on `slack.event.v1` and 200 once Kafka confirmed it. Kafka that cannot
take it within the ack timeout (under Slack's 3 s) gets Slack a 503, and Slack retries.
A retry of an event this process already stored is acknowledged without a second record.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from chassis.serde import AvroSerde
from events.slack_events import SlackEventReceived
from ingress.answers import WEBHOOKS, Send, refused
from ingress.config import IngressSettings
from ingress.dedupe import RecentEvents
from ingress.errors import NotAcceptingNowError, RejectedNotificationError
from ingress.fields import RetryNumber
from ingress.slack_envelope import Challenge, Ignored, read_envelope
from ingress.slack_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, SlackSignature
from ingress.storing import RecordStore

SOURCE = "slack"
RETRY_NUM_HEADER = "X-Slack-Retry-Num"
MAX_RETRY_NUM_DIGITS = 4
_RETRY_NUMBER: TypeAdapter[int] = TypeAdapter(RetryNumber)


def slack_route(
    *,
    settings: IngressSettings,
    send: Send,
    serde: AvroSerde,
    signature: SlackSignature | None,
    recent: RecentEvents | None = None,
) -> Route:
    """The Slack route; `signature` None (no signing secret configured) refuses everything.

    A plain Starlette route: it takes the raw request and needs none of FastAPI's
    parameter injection, which cost about a tenth of the route's CPU time per event.
    """
    if recent is None:  # not `or`: an empty memory is falsy (it has a length)
        recent = RecentEvents(settings.slack_recent_event_ids)

    store = RecordStore(SOURCE, settings.slack_topic, send, recent, settings.ack_timeout_seconds)

    async def slack_events(request: Request) -> Response:
        try:
            received = read_signed(request.headers, await request.body(), signature)
        except (RejectedNotificationError, NotAcceptingNowError) as exc:
            return refused(SOURCE, exc)
        if isinstance(received, Challenge):
            WEBHOOKS.labels(SOURCE, "url_verification").inc()
            return PlainTextResponse(received.value)
        if isinstance(received, Ignored):
            WEBHOOKS.labels(SOURCE, "ignored").inc()
            return JSONResponse({"ok": True, "ignored": received.reason})
        value = serde.encode(received.SCHEMA, received.to_record())
        return await store.store_once(received.event_id, key=received.key, value=value,
                                      answer={"event_id": received.event_id})  # fmt: skip

    return Route("/webhooks/slack", slack_events, methods=["POST"])


def read_signed(
    headers: Mapping[str, str], body: bytes, signature: SlackSignature | None
) -> Challenge | Ignored | SlackEventReceived:
    """The signature (401), then the retry header and the envelope (400)."""
    if signature is None:
        raise NotAcceptingNowError("no Slack signing secret configured")
    signature.verify(body, timestamp=headers.get(TIMESTAMP_HEADER),
                     signature=headers.get(SIGNATURE_HEADER))  # fmt: skip
    return read_envelope(body, retry_num=retry_number(headers))


def retry_number(headers: Mapping[str, str]) -> int:
    """Slack's X-Slack-Retry-Num (0 on the first delivery, absent then); a 400 names the
    header when it is not a small whole number, which Slack never sends."""
    raw = headers.get(RETRY_NUM_HEADER)
    if raw is None:
        return 0
    # An ASCII pattern first: int() would also take "+1", " 1", "1_0" and other scripts' digits.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_RETRY_NUM_DIGITS):
        raise RejectedNotificationError(400, f"{RETRY_NUM_HEADER}: not a retry count")
    try:
        return _RETRY_NUMBER.validate_python(int(raw))
    except ValidationError as exc:
        raise RejectedNotificationError(400, f"{RETRY_NUM_HEADER}: {_message(exc)}") from None


def _message(exc: ValidationError) -> str:
    return exc.errors(include_input=False, include_url=False)[0]["msg"]
