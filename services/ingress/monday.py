"""monday.com board webhooks: the JWT check, the challenge and the event body, no I/O.

monday signs a board webhook of an app with the app's Signing Secret: `Authorization` holds
a JWT (HS256 assumed: monday does not publish the algorithm) whose `aud` is the webhook's
URL and whose `exp` bounds its life, so a captured request is worthless once it expired and
a request signed for another endpoint is refused. A webhook made with a personal token
carries no JWT; the ingress then takes it only when no signing secret is configured.

A column change (`type: "update_column_value"`) becomes one `MondayColumnChanged`; every
other event (an item created, renamed, ...) is acknowledged and not stored: nothing acts on
it. Cell values arrive in monday's webhook shapes (`{"label": {"text"}}` for a status,
`{"value"}` for a text or a number, `{"date"}`, ...); the event keeps the text a person reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, ValidationError

from events.monday import WEBHOOK, MondayColumnChanged
from ingress.errors import RejectedNotificationError
from ingress.fields import Name, OptionalName, first_problem

ALGORITHMS = ["HS256"]
# A monday JWT is a few hundred characters; anything much longer is not worth decoding.
MAX_TOKEN_LENGTH = 4096
MAX_VALUE_TEXT = 2000
"""The longest cell text kept: a long-text column can hold far more than any rule needs."""

COLUMN_CHANGE = "update_column_value"

Challenge = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
MondayId = Annotated[int, Field(ge=1, le=2**63 - 1)]
"""monday's board and item ids are numbers (10 digits today), kept as text in the event."""
ChangedAt = Annotated[float, Field(ge=0, le=253_402_300_799)]


def verify(
    secret: SecretStr, token: str | None, *, audience: str, leeway: float = 0.0
) -> dict[str, Any]:
    """The JWT's claims, or a 401: missing, malformed, forged, expired or for another URL."""
    if not token:
        raise RejectedNotificationError(401, "missing Authorization JWT")
    token = token.removeprefix("Bearer ").strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise RejectedNotificationError(401, "bad Authorization JWT")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret.get_secret_value(),
            algorithms=ALGORITHMS,
            audience=audience,
            leeway=leeway,
            options={"require": ["exp", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise RejectedNotificationError(401, "expired Authorization JWT") from None
    except jwt.InvalidAudienceError:
        raise RejectedNotificationError(401, "Authorization JWT for another URL") from None
    except jwt.InvalidTokenError:
        raise RejectedNotificationError(401, "bad Authorization JWT") from None
    return claims


class _Challenge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge: Challenge


class _ColumnChange(BaseModel):
    """Every field of a column change the ingress reads, bounded; the rest is ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Name
    board_id: MondayId = Field(alias="boardId")
    item_id: MondayId | None = Field(default=None, alias="pulseId")
    column_id: OptionalName = Field(default=None, alias="columnId")
    column_type: OptionalName = Field(default=None, alias="columnType")
    column_title: OptionalName = Field(default=None, alias="columnTitle")
    value: dict[str, Any] | None = None
    previous_value: dict[str, Any] | None = Field(default=None, alias="previousValue")
    changed_at: ChangedAt | None = Field(default=None, alias="changedAt")
    trigger_uuid: Name = Field(alias="triggerUuid")


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: _ColumnChange


def challenge_of(body: bytes) -> dict[str, str] | None:
    """The registration handshake's JSON to echo, or None when the body is no challenge."""
    try:
        return _Challenge.model_validate_json(body).model_dump()
    except ValidationError:
        return None


def parse(
    body: bytes,
    *,
    tenant_id: str,
    account_id: str | None,
    received_at: datetime | None = None,
) -> MondayColumnChanged | None:
    """The column change a webhook body carries, None for another kind of event, or a 400."""
    try:
        event = _Envelope.model_validate_json(body).event
    except ValidationError as exc:
        raise first_problem(exc) from None
    if event.type != COLUMN_CHANGE:
        return None
    if event.item_id is None or not event.column_id or not event.column_type:
        raise RejectedNotificationError(400, "event: a column change names item and column")
    received = received_at or datetime.now(UTC)
    changed = received
    if event.changed_at is not None:
        changed = datetime.fromtimestamp(event.changed_at, UTC)
    return MondayColumnChanged(
        tenant_id=tenant_id,
        account_id=account_id,
        board_id=str(event.board_id),
        item_id=str(event.item_id),
        column_id=event.column_id,
        column_title=event.column_title,
        column_type=event.column_type,
        value_text=value_text(event.value),
        previous_text=value_text(event.previous_value),
        changed_at=changed,
        source=WEBHOOK,
        trigger_uuid=event.trigger_uuid,
        received_at=received,
    )


def value_text(value: dict[str, Any] | None) -> str | None:
    """What a person reads in the cell, from monday's webhook value shape; None: empty."""
    if not value:
        return None
    text = _text_of(value)
    if text is None or not text.strip():
        return None
    return text[:MAX_VALUE_TEXT]


def _text_of(value: dict[str, Any]) -> str | None:
    label = value.get("label")
    if isinstance(label, dict):
        return _scalar(label.get("text"))
    if "date" in value:
        date, time = _scalar(value.get("date")), _scalar(value.get("time"))
        return f"{date} {time}" if date and time else date
    if isinstance(value.get("chosenValues"), list):
        names = [_scalar(v.get("name")) for v in value["chosenValues"] if isinstance(v, dict)]
        return ", ".join(name for name in names if name)
    for field in ("value", "text", "url", "email", "phone"):
        if field in value:
            return _scalar(value[field])
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _scalar(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)
