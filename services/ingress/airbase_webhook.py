"""An Airbase webhook read and checked: whose it is, whether it is signed right, what it says.

Airbase's webhooks are account-gated (UNCONFIRMED, docs/airbase-poller.md): the seed names
events such as `purchase_request_approved` with `{id, object, created_date, data}` and a
"portal-managed" signature. The connector assumes `X-Airbase-Signature: sha256=<hex
HMAC-SHA256 of the raw body>` (header and prefix configurable) when the portal gives the
tenant a signing secret, compared in constant time over the body exactly as it arrived.

A webhook is only a nudge: the airbase-poller pulls the tenant and reads the truth from the
API, so a tenant without a secret still has its webhooks taken (marked unsigned). The tenant
is named by the URL the webhook was registered with (`?tenant=`), or is the ingress's one
default tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from events.airbase import AirbaseWebhookReceived
from ingress.errors import RejectedNotificationError
from ingress.fields import Name, OptionalName, OptionalStamp, first_problem

MAX_SIGNATURE = 256


class WebhookBody(BaseModel):
    """The fields of the body the nudge keeps, bounded; everything else is ignored."""

    model_config = ConfigDict(extra="ignore")

    id: Name
    type: Name
    created_date: OptionalStamp = None
    object_type: OptionalName = None
    object_id: OptionalName = None


def read_body(body: bytes) -> WebhookBody:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise RejectedNotificationError(400, "the body is not JSON") from None
    if not isinstance(document, dict):
        raise RejectedNotificationError(400, "body: not a JSON object")
    data = document.get("data")
    data = data if isinstance(data, dict) else {}
    try:
        return WebhookBody.model_validate(
            {
                "id": document.get("id"),
                "type": document.get("type"),
                "created_date": document.get("created_date"),
                "object_type": data.get("object"),
                "object_id": _text(data.get("airbase_id")),
            }
        )
    except ValidationError as exc:
        raise first_problem(exc) from None


def _text(value: Any) -> Any:
    """Airbase ids may be numbers; kept as text (anything else is refused as it is)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def signature_matches(secret: SecretStr, *, body: bytes, header: str | None, prefix: str) -> bool:
    """Whether `header` is `prefix` + the hex HMAC-SHA256 of `body` with `secret`."""
    if not header or len(header) > MAX_SIGNATURE or not header.startswith(prefix):
        return False
    expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len(prefix) :].strip().lower().encode(), expected.encode())


def nudge_of(
    webhook: WebhookBody, *, tenant_id: str, signed: bool, received_at: datetime
) -> AirbaseWebhookReceived:
    return AirbaseWebhookReceived(
        event_id=webhook.id, tenant_id=tenant_id, event_type=webhook.type,
        object_type=webhook.object_type, object_id=webhook.object_id,
        created_date=webhook.created_date, signed=signed, received_at=received_at,
    )  # fmt: skip
