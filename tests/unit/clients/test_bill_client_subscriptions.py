"""BillClient's webhook subscriptions against the BILL sandbox's connect-events API: the
securityKey comes once, as a SecretStr, and never inside a subscription; an idempotent
replay makes no second subscription; a subscription BILL disabled is enabled again; the
key rotates; a deleted subscription is gone."""

from __future__ import annotations

import logging
import uuid

import pytest
from bill_client_kit import ORG, rig

from bill_client import BillKeyWithheld, BillNotFound, BillValidationError

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

EVENTS = ("vendor.created", "vendor.updated", "bill.created", "bill.updated")
HOOK = "https://connector.example/webhooks/bill"


async def test_create_returns_the_key_once_and_a_replay_withholds_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig() as r:
        key = str(uuid.uuid4())
        subscription, secret = await r.client.create_subscription(
            name="mlc", url=HOOK, events=EVENTS, idempotency_key=key
        )
        assert subscription.organization_id == ORG
        assert subscription.enabled
        assert subscription.events == EVENTS
        assert subscription.notification_url == HOOK
        key_text = secret.get_secret_value()
        assert key_text == r.bill.subscriptions.get(ORG, subscription.id).security_key
        assert key_text not in repr(subscription) + str(subscription.model_dump())
        with pytest.raises(BillKeyWithheld) as replay:
            await r.client.create_subscription(
                name="mlc", url=HOOK, events=EVENTS, idempotency_key=key
            )
        assert replay.value.subscription_id == subscription.id
        assert [s.id for s in await r.client.subscriptions()] == [subscription.id]
        sent = [q for q in r.transport.requests if q.url.path.endswith("/subscriptions")]
        assert sent[0].headers["X-Idempotent-Key"] == key
        assert key_text not in caplog.text


async def test_an_invalid_subscription_is_a_permanent_validation_error() -> None:
    async with rig() as r:
        with pytest.raises(BillValidationError):
            await r.client.create_subscription(
                name="mlc", url=HOOK, events=("no.such.event",), idempotency_key=str(uuid.uuid4())
            )
        with pytest.raises(BillValidationError):
            await r.client.create_subscription(
                name="mlc", url=HOOK, events=EVENTS, idempotency_key="not-a-uuid"
            )


async def test_a_subscription_bill_disabled_is_enabled_again() -> None:
    async with rig() as r:
        subscription, _ = await r.client.create_subscription(
            name="mlc", url=HOOK, events=EVENTS, idempotency_key=str(uuid.uuid4())
        )
        await r.admin("POST", f"/subscriptions/{subscription.id}/disable")
        assert not (await r.client.subscription(subscription.id)).enabled
        enabled = await r.client.enable_subscription(subscription.id)
        assert enabled.enabled
        assert enabled.events == EVENTS
        assert enabled.notification_url == HOOK
        assert (await r.client.subscription(subscription.id)).enabled


async def test_rotation_returns_a_new_key_that_bill_now_signs_with() -> None:
    async with rig() as r:
        subscription, first = await r.client.create_subscription(
            name="mlc", url=HOOK, events=EVENTS, idempotency_key=str(uuid.uuid4())
        )
        second = await r.client.rotate_security_key(subscription.id)
        assert second.get_secret_value() != first.get_secret_value()
        held = r.bill.subscriptions.get(ORG, subscription.id).security_key
        assert held == second.get_secret_value()
        assert (await r.stats())["key_rotations"] == 1


async def test_a_deleted_subscription_is_gone() -> None:
    async with rig() as r:
        subscription, _ = await r.client.create_subscription(
            name="mlc", url=HOOK, events=EVENTS, idempotency_key=str(uuid.uuid4())
        )
        await r.client.delete_subscription(subscription.id)
        assert await r.client.subscriptions() == []
        with pytest.raises(BillNotFound):
            await r.client.subscription(subscription.id)
        with pytest.raises(BillNotFound):
            await r.client.delete_subscription(subscription.id)
