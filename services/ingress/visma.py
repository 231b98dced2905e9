"""Visma webhook notifications: signature check and parsing, no I/O.

Visma signs with HMAC-SHA256 over the body, base64-encoded, in a header; the header name and
the ERP payload are not publicly confirmed, so the name is configuration and the parser
accepts the fields this project's sandbox sends (see docs/visma-entities.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from events.notifications import VismaNotificationReceived
from ingress.errors import RejectedNotificationError
from ingress.fields import Name, OptionalName, OptionalStamp, first_problem

# A base64 HMAC-SHA256 is 44 characters; anything much longer is not worth hashing against.
MAX_SIGNATURE_LENGTH = 128

__all__ = ["RejectedNotificationError", "expected_signature", "parse", "verify"]


def expected_signature(secret: SecretStr, body: bytes) -> str:
    digest = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(secret: SecretStr, body: bytes, signature: str | None) -> None:
    if not signature:
        raise RejectedNotificationError(401, "missing signature")
    if len(signature) > MAX_SIGNATURE_LENGTH:
        raise RejectedNotificationError(401, "bad signature")
    # Bytes, not text: compare_digest raises on non-ASCII text, and a header can carry any.
    given = signature.strip().encode()
    if not hmac.compare_digest(expected_signature(secret, body).encode(), given):
        raise RejectedNotificationError(401, "bad signature")


class _Body(BaseModel):
    """Every field the ingress reads, bounded; the rest of the payload is ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    tenant_id: Name = Field(alias="tenantId")
    company_id: Name = Field(alias="companyId")
    entity: Name
    id: OptionalName = None
    event: OptionalName = None
    timestamp: OptionalStamp = None


def parse(body: bytes, *, received_at: datetime | None = None) -> VismaNotificationReceived:
    try:
        parsed = _Body.model_validate_json(body)
    except ValidationError as exc:
        raise first_problem(exc) from None
    return VismaNotificationReceived(
        notification_id=hashlib.sha256(body).hexdigest(),
        tenant_id=parsed.tenant_id,
        company_id=parsed.company_id,
        entity_type=parsed.entity,
        entity_id=parsed.id,
        event=parsed.event,
        occurred_at=parsed.timestamp,
        received_at=received_at or datetime.now(UTC),
    )
