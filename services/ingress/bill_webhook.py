"""A BILL webhook delivery read and checked: whose it is, whether BILL signed it, what it says.

BILL POSTs `{"metadata": {eventId, subscriptionId, organizationId, eventType, version},
"vendor"|"bill": {...}}` with `x-bill-sha-signature` = base64(HMAC-SHA256(securityKey, body)).
BILL's docs do not say byte-exactly what is hashed, so the check is over the raw body as it
arrived (the sandbox signs the exact bytes it sends), compared in constant time with every
key that verifies now (the current one, and during a rotation's overlap the previous one).

Order of checks: no signature is a 401 before anything is read; the metadata must name a
subscription (400) whose keys the vault holds (401 when it holds none); the signature must
match one of them (401); only then are the fields read, bounded (400 naming the field,
never echoing a value), and turned into a canonical fact.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, SecretStr, StringConstraints, ValidationError

from events.bill import BillBillChanged, BillVendorChanged, change_of_event_type
from ingress.bill_keys import BillSecurityKeys
from ingress.errors import RejectedNotificationError
from ingress.fields import Name, first_problem

SIGNATURE_HEADER = "x-bill-sha-signature"
ENTITIES = ("vendor", "bill")
MAX_TEXT = 4096
"""The longest text a vendor's or bill's field may carry (BILL's own limits are far lower)."""
MAX_LINES = 1000
MAX_AMOUNT = Decimal(10) ** 15
"""Avro's decimal(19, 4) holds 15 digits before the point."""
SHA256_BASE64 = 44

Fact = BillVendorChanged | BillBillChanged
Signature = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Metadata(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    event_id: Name
    subscription_id: Name
    organization_id: Name
    event_type: Name
    version: Annotated[str | None, StringConstraints(max_length=16)] = None

    @classmethod
    def read(cls, body: bytes) -> Metadata:
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise RejectedNotificationError(400, "the body is not JSON") from None
        raw = document.get("metadata") if isinstance(document, dict) else None
        if not isinstance(raw, dict):
            raise RejectedNotificationError(400, "metadata: missing")
        try:
            return cls.model_validate(
                {
                    "event_id": raw.get("eventId"),
                    "subscription_id": raw.get("subscriptionId"),
                    "organization_id": raw.get("organizationId"),
                    "event_type": raw.get("eventType"),
                    "version": raw.get("version"),
                }
            )
        except ValidationError as exc:
            raise first_problem(exc) from None


def require_signature(header: str | None) -> str:
    if not header:
        raise RejectedNotificationError(401, f"unsigned: no {SIGNATURE_HEADER}")
    if len(header) > SHA256_BASE64 * 2:
        raise RejectedNotificationError(401, "the signature is not BILL's")
    return header


def signed_by(keys: list[SecretStr], body: bytes, signature: str) -> bool:
    """Whether one of `keys` made `signature` over `body`, in time independent of where they
    differ (every key is tried, so the time says nothing of which one matched)."""
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    matched = False
    for key in keys:
        expected = hmac.new(key.get_secret_value().encode(), body, hashlib.sha256).digest()
        matched |= hmac.compare_digest(expected, given)
    return matched


def verify(keys: BillSecurityKeys, *, now: datetime, body: bytes, signature: str) -> None:
    if not signed_by(keys.verifying(now), body, signature):
        raise RejectedNotificationError(401, "the signature does not match the subscription's key")


def fact_of(
    body: bytes, metadata: Metadata, keys: BillSecurityKeys, *, received_at: datetime
) -> Fact | None:
    """The canonical fact of a verified delivery; None for an event that is no vendor or
    bill change (BILL may send others to a subscription that asked for them)."""
    if metadata.organization_id != keys.organization_id:
        raise RejectedNotificationError(
            401, "the event names another organization than its subscription's"
        )
    entity, _, _ = metadata.event_type.partition(".")
    try:
        change = change_of_event_type(metadata.event_type)
    except ValueError:
        return None
    if entity not in ENTITIES:
        return None
    record = json.loads(body).get(entity)
    if not isinstance(record, dict):
        raise RejectedNotificationError(400, f"{entity}: missing")
    model: type[Fact] = BillVendorChanged if entity == "vendor" else BillBillChanged
    try:
        fact = model.from_bill(
            record,
            tenant_id=keys.tenant_id,
            organization_id=metadata.organization_id,
            change=change,
            source="webhook",
            received_at=received_at,
            event_id=metadata.event_id,
        )
    except ValidationError as exc:
        raise first_problem(exc) from None
    except ValueError as exc:
        raise RejectedNotificationError(400, f"{entity}: {exc}") from None
    _check_bounds(fact.model_dump(), entity)
    return fact


def _check_bounds(value: Any, where: str) -> None:
    """Every text, list and amount within what Kafka and Avro hold, or a 400 naming it."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise RejectedNotificationError(400, f"{where}: longer than {MAX_TEXT} characters")
    if isinstance(value, Decimal) and not abs(value) < MAX_AMOUNT:
        raise RejectedNotificationError(400, f"{where}: an amount beyond {MAX_AMOUNT}")
    if isinstance(value, list):
        if len(value) > MAX_LINES:
            raise RejectedNotificationError(400, f"{where}: more than {MAX_LINES} entries")
        for index, item in enumerate(value):
            _check_bounds(item, f"{where}.{index}")
    if isinstance(value, dict):
        for name, item in value.items():
            _check_bounds(item, f"{where}.{name}")
