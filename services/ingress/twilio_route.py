"""POST /webhooks/twilio/status: a message's status callback, in Kafka before Twilio hears 200.

Checks in `ingress.twilio_callback`'s order (form 400/415, signature 403, fields 400); a
`TwilioMessageStatus` keyed by the message SID goes to `twilio.message-status.v1` and the
answer is 200 once Kafka confirmed it (503 when it did not in time, or when the public
callback URL is not configured). Twilio repeats callbacks: a (message, status) pair this
process already stored is acknowledged without a second record; consumers de-duplicate too.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chassis.serde import AvroSerde
from events.twilio_status import TwilioMessageStatus
from ingress.answers import Send, refused
from ingress.config import IngressSettings
from ingress.dedupe import RecentEvents
from ingress.errors import NotAcceptingNowError, RejectedNotificationError
from ingress.storing import RecordStore
from ingress.twilio_callback import (
    SIGNATURE_HEADER,
    account_of,
    callback_url,
    parse,
    read_form,
    verify,
)
from ingress.twilio_tokens import TwilioAuthTokens

SOURCE = "twilio"
PATH = "/webhooks/twilio/status"


def twilio_route(
    *,
    settings: IngressSettings,
    send: Send,
    serde: AvroSerde,
    tokens: TwilioAuthTokens,
    recent: RecentEvents | None = None,
) -> Route:
    if recent is None:  # not `or`: an empty memory is falsy (it has a length)
        recent = RecentEvents(settings.twilio_recent_callbacks)
    store = RecordStore(SOURCE, settings.twilio_topic, send, recent, settings.ack_timeout_seconds)

    async def status_callback(request: Request) -> Response:
        try:
            callback = await read_signed(request, settings=settings, tokens=tokens)
            value = serde.encode(callback.SCHEMA, callback.to_record())
        except (RejectedNotificationError, NotAcceptingNowError) as exc:
            return refused(SOURCE, exc)
        return await store.store_once(
            callback.transition_id, key=callback.key, value=value,
            answer={"message_sid": callback.message_sid, "status": callback.status},
        )  # fmt: skip

    return Route(PATH, status_callback, methods=["POST"])


async def read_signed(
    request: Request, *, settings: IngressSettings, tokens: TwilioAuthTokens
) -> TwilioMessageStatus:
    public_url = settings.twilio_status_callback_url
    if public_url is None:
        raise NotAcceptingNowError("no public Twilio status callback URL configured")
    form = read_form(request.headers.get("content-type"), await request.body())
    account_sid = account_of(form)
    signature = request.headers.get(SIGNATURE_HEADER)
    url = callback_url(public_url, request.scope["query_string"].decode("latin-1"))
    token = await tokens.token(account_sid)
    try:
        verify(token, url=url, form=form, signature=signature)
    except RejectedNotificationError:
        # A new account or a rotated token: read the vault again (rate-limited) and retry once.
        renewed = await tokens.renewed(account_sid, held=token) if signature else None
        if renewed is None:
            raise
        verify(renewed, url=url, form=form, signature=signature)
    return parse(form)
