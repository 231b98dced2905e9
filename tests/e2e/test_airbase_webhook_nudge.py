"""Airbase's webhook as the fast path, every piece a process on the real broker: the Airbase
sandbox pays a bill and sends its signed `bill_paid` webhook to the ingress, which verifies it
with the tenant's secret from the run's vault and stores it; the airbase-poller, whose schedule
would not pull again for an hour, is nudged and publishes the payment at once (`via:
webhook`). A forged webhook for the same tenant is refused and nudges nothing; a tenant with no
secret has its (unsigned) webhooks taken, and they only nudge a pull.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.airbase import AIRBASE_PAYMENTS, AIRBASE_WEBHOOKS
from mlc.stack import FlowStack
from sandbox.airbase.config import demo_token

pytestmark = pytest.mark.e2e

SERDE = AvroSerde(SchemaCatalog.load())
SIGNED, OPEN = "tenant-se-1", "tenant-no-1"
SECRET = "whsec-e2e-airbase-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def facts(topic: str) -> list[dict[str, Any]]:
    return [SERDE.decode(v)[1] for _, v in iter_to_end(KafkaSettings(), topic, client="e2e-ab")]


def wait(what: str, check: Callable[[], bool], stack: FlowStack, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        stack.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def pay_a_bill(api: httpx.Client, admin: httpx.Client, tenant: str, n: int) -> str:
    """The ERP's vendor and bill in the tenant's Airbase, approved and paid: the entry id."""
    auth = {"Authorization": f"Token {demo_token(tenant)}"}
    vendor = {"name": f"Vendor {n}", "erp_reference_id": f"V{n}"}
    api.post("/v1/accounting/vendors/", json=vendor, headers=auth).raise_for_status()
    bill = api.post("/v1/accounting/bills/", headers=auth, json={
        "erp_reference_id": f"INV-{n}", "vendor": {"erp_reference_id": f"V{n}"},
        "invoice_number": f"SUP-{n}", "currency": {"iso_code": "SEK"}, "total_amount": "99.00",
        "entry_date": "2026-03-01", "due_date": "2026-03-31",
        "expense_list": [{"line_number": 1, "account": {"erp_reference_id": "6110"},
                          "amount": "99.00", "tags": []}],
    }).raise_for_status().json()  # fmt: skip
    admin.post(f"/bills/{bill['airbase_id']}/approve").raise_for_status()
    entry = admin.post(f"/bills/{bill['airbase_id']}/pay").raise_for_status().json()
    return str(entry["airbase_id"])


def test_a_signed_webhook_makes_the_poller_publish_the_payment_at_once(
    make_stack: Callable[..., FlowStack],
) -> None:
    started = time.monotonic()
    stack = make_stack(invoices=0, ingress_port=free_port(), airbase_poll_every=3600.0)
    stack.start_sandbox()
    stack.credentials().values[f"airbase/{SIGNED}/webhook-secret"] = SecretStr(SECRET)
    stack.start("ingress")
    stack.start("airbase-poller")
    prefix = stack.topics.prefix
    payments, webhooks = prefix + AIRBASE_PAYMENTS.name, prefix + AIRBASE_WEBHOOKS.name
    ingress = f"http://127.0.0.1:{stack.ingress_port}/webhooks/airbase"
    with (
        httpx.Client(base_url=f"{stack.base_url}/airbase", timeout=30) as api,
        httpx.Client(base_url=f"{stack.base_url}/airbase/_sandbox", timeout=30) as admin,
        httpx.Client(timeout=30) as outside,
    ):
        admin.put("/webhooks", json={"tenant": SIGNED, "url": f"{ingress}?tenant={SIGNED}",
                                     "secret": SECRET}).raise_for_status()  # fmt: skip
        admin.put("/webhooks", json={"tenant": OPEN, "url": f"{ingress}?tenant={OPEN}"}
                  ).raise_for_status()  # fmt: skip
        wait("the ingress", lambda: _answers(outside, ingress), stack)
        # A first payment per tenant, published by whichever pull comes first: after it, the
        # schedule's next pull is an hour away and only a webhook makes one.
        first = {pay_a_bill(api, admin, SIGNED, 1), pay_a_bill(api, admin, OPEN, 2)}
        wait("the first payments", lambda: {f["entry_id"] for f in facts(payments)} >= first,
             stack)  # fmt: skip
        signed_entry = pay_a_bill(api, admin, SIGNED, 3)
        open_entry = pay_a_bill(api, admin, OPEN, 4)
        wait("both payments published", lambda: {f["entry_id"] for f in facts(payments)}
             >= {signed_entry, open_entry}, stack)  # fmt: skip
        forged = outside.post(
            f"{ingress}?tenant={SIGNED}", json={"id": "evt_forged", "type": "bill_paid"},
            headers={"X-Airbase-Signature": "sha256=0"},
        )  # fmt: skip
        assert forged.status_code == 401
        delivered = admin.get("/webhooks/events").raise_for_status().json()

    published = {f["entry_id"]: f for f in facts(payments)}
    assert published[signed_entry]["via"] == "webhook"
    assert published[open_entry]["via"] == "webhook"
    stored = facts(webhooks)
    assert {(w["tenant_id"], w["signed"]) for w in stored} >= {(SIGNED, True), (OPEN, False)}
    assert "evt_forged" not in {w["event_id"] for w in stored}
    assert len(published) == 4
    print(
        f"\n{len(delivered)} webhooks sent by the sandbox, {len(stored)} stored; the later "
        f"payments published by nudged pulls; {time.monotonic() - started:.0f} s"
    )


def _answers(client: httpx.Client, url: str) -> bool:
    try:
        client.get(url.replace("/webhooks/airbase", "/healthz"))
    except httpx.TransportError:
        return False
    return True
