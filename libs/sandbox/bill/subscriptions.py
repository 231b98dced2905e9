"""BILL webhook subscriptions (``/connect-events/v3/subscriptions``), per organization.

Creating one needs an ``X-Idempotent-Key`` (a UUID, as BILL's docs ask; whether BILL
refuses another form is UNCONFIRMED): the same key again answers the subscription it
made, without its ``securityKey``, which BILL returns once only, in the answer that created
it (whether a replay repeats the key is UNCONFIRMED; here it never does, the harder case
for a client). The same key with a different body is invalid input. A subscription is
enabled or disabled (``status.enabled``); BILL disables it when a delivery's retries run
out and a ``PUT`` of the whole subscription can enable it again (UNCONFIRMED that BILL
accepts this). ``POST /{id}/security-key`` rotates the key: the new one is returned once
and signs every delivery from then on, retries of earlier events included.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sandbox.bill.errors import NOT_FOUND, BillApiError, format_time
from sandbox.bill.filters import invalid

EVENT_TYPES = tuple(
    f"{entity}.{action}"
    for entity in ("vendor", "bill")
    for action in ("created", "updated", "archived", "restored")
)
CATALOG_ONLY = ("payment.updated", "payment.failed")
"""Subscribable (BILL's catalog has them) but never fired by the simulator."""


class EventChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    version: str = "1"


class Status(BaseModel):
    enabled: bool = True


class SubscriptionBody(BaseModel):
    """The body of ``POST`` and ``PUT /v3/subscriptions``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    status: Status = Field(default_factory=Status)
    events: list[EventChoice] = Field(min_length=1)
    notificationUrl: str = Field(pattern=r"^https?://")


@dataclass
class Subscription:
    id: str
    organization_id: str
    body: SubscriptionBody
    security_key: str
    created: datetime
    updated: datetime
    disabled_by_bill: int = 0
    idempotency_key: str = ""
    deleted: bool = False

    @property
    def enabled(self) -> bool:
        return self.body.status.enabled and not self.deleted

    def wants(self, event_type: str) -> bool:
        return self.enabled and any(e.type == event_type for e in self.body.events)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organizationId": self.organization_id,
            **self.body.model_dump(mode="json"),
            "createdTime": format_time(self.created),
            "updatedTime": format_time(self.updated),
        }


def _check_events(body: SubscriptionBody) -> None:
    for choice in body.events:
        if choice.type not in EVENT_TYPES + CATALOG_ONLY or choice.version != "1":
            raise invalid(f"unknown event type {choice.type} version {choice.version}")


class Subscriptions:
    def __init__(self) -> None:
        self._all: dict[str, Subscription] = {}
        self._by_key: dict[tuple[str, str], Subscription] = {}
        self.rotations = 0

    def create(
        self, organization_id: str, body: SubscriptionBody, *, idempotency_key: str, now: datetime
    ) -> tuple[Subscription, bool]:
        """The subscription and whether it is new (only then may its key be shown)."""
        try:
            uuid.UUID(idempotency_key)
        except ValueError:
            raise invalid("X-Idempotent-Key header must be a UUID") from None
        _check_events(body)
        earlier = self._by_key.get((organization_id, idempotency_key))
        if earlier is not None:
            if earlier.body != body and not earlier.deleted:
                raise invalid("X-Idempotent-Key was used for a different subscription")
            return earlier, False
        subscription = Subscription(
            id=str(uuid.uuid4()),
            organization_id=organization_id,
            body=body,
            security_key=secrets.token_urlsafe(32),
            created=now,
            updated=now,
            idempotency_key=idempotency_key,
        )
        self._all[subscription.id] = subscription
        self._by_key[(organization_id, idempotency_key)] = subscription
        return subscription, True

    def get(self, organization_id: str, subscription_id: str) -> Subscription:
        found = self._all.get(subscription_id)
        if found is None or found.deleted or found.organization_id != organization_id:
            raise BillApiError(NOT_FOUND, f"subscription {subscription_id} not found")
        return found

    def of(self, organization_id: str) -> list[Subscription]:
        return [
            s for s in self._all.values() if s.organization_id == organization_id and not s.deleted
        ]

    def everything(self) -> list[Subscription]:
        return [s for s in self._all.values() if not s.deleted]

    def replace(
        self, organization_id: str, subscription_id: str, body: SubscriptionBody, now: datetime
    ) -> Subscription:
        subscription = self.get(organization_id, subscription_id)
        _check_events(body)
        subscription.body = body
        subscription.updated = now
        return subscription

    def delete(self, organization_id: str, subscription_id: str) -> None:
        self.get(organization_id, subscription_id).deleted = True

    def rotate(self, organization_id: str, subscription_id: str, now: datetime) -> str:
        subscription = self.get(organization_id, subscription_id)
        subscription.security_key = secrets.token_urlsafe(32)
        subscription.updated = now
        self.rotations += 1
        return subscription.security_key

    @staticmethod
    def disable(subscription: Subscription, now: datetime) -> None:
        """What BILL does when a delivery's retries run out."""
        subscription.body = subscription.body.model_copy(update={"status": Status(enabled=False)})
        subscription.disabled_by_bill += 1
        subscription.updated = now
