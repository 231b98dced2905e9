"""SIGKILL of the airbase-sink at random points, five times in one run, with about 10 % of
Airbase's answers a 429 or a 5xx: no vendor or bill made twice, none lost; then payments of
five bills marked synced once each, though the writer's marks come twice.

Three tenants (three Airbase accounts in the sandbox), 50 supplier invoices from 20 suppliers
and the suppliers' own facts, half of them before their invoices and half after (so most
bills make their vendor first from the invoice), then a second version of 10 invoices. A
third of Airbase's creates hold their answer 0.3 s after Airbase made the object, so a kill
often lands between Airbase's 201 and the ledger's DONE: the restarted sink must find such
an object by its ERP reference instead of making a second. The sandbox counts creates per ERP
reference, which is what the test checks.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from events.commands import MarkAirbaseEntrySynced, SyncToAirbase
from events.deliveries import DeliveryStatus, SinkDelivery
from events.visma import SupplierInvoice, SupplierInvoiceLine
from events.visma_reference import Supplier
from mlc.stack import DEMO_TENANTS, FlowStack
from tests.e2e.test_slack_sink_interrupted import _dead_lettered
from tests.e2e.twilio_alerts import ledger, produce, wait_until

pytestmark = pytest.mark.e2e

KILLS = 5
INVOICES = 50
SUPPLIERS = 20
CHANGED = 10
PAID = 5
FAULTS = (  # checked in order, each with its own chance: about 10 % of all calls
    {"status": 429, "retry_after": 1, "probability": 0.05, "times": None},
    {"status": 503, "probability": 0.03, "times": None},
    {"status": 500, "probability": 0.02, "times": None},
    {"method": "POST", "delay_after_seconds": 0.3, "probability": 0.3, "times": None},
)


def _command(tenant: str, entity_type: str, entity_id: str, payload: Any, version: int
             ) -> SyncToAirbase:  # fmt: skip
    return SyncToAirbase(
        command_id=f"{tenant}-{entity_type}-{entity_id}-v{version}", tenant_id=tenant,
        rule="visma-to-airbase", source_event_id=f"{tenant}/{entity_id}@{version}",
        entity_type=entity_type, entity_id=f"{tenant}/{tenant}/{entity_type}/{entity_id}",
        created_at=datetime.now(UTC), note="",
        payload_json=json.dumps(payload.model_dump(mode="json")),
    )  # fmt: skip


def _supplier(tenant: str, n: int) -> SyncToAirbase:
    number = f"{50000 + n}"
    supplier = Supplier(number=number, name=f"Leverantör {n} AB", status="Active")
    return _command(tenant, "supplier", number, supplier, 1)


def _invoice(tenant: str, n: int, *, version: int = 1) -> SyncToAirbase:
    ref = f"{10000 + n}"
    amount = Decimal(100 * n + version) + Decimal("0.50")
    invoice = SupplierInvoice(
        document_type="Invoice", reference_number=ref, supplier_number=f"{50000 + n % SUPPLIERS}",
        supplier_name=f"Leverantör {n % SUPPLIERS} AB", currency="SEK", amount=amount,
        invoice_date=date(2026, 3, 1), due_date=date(2026, 3, 31),
        lines=[SupplierInvoiceLine(line_number=1, amount=amount, account_number="6110",
                                   subaccount=f"CC{n % 3 + 1}00")],
    )  # fmt: skip
    return _command(tenant, "supplierInvoice", f"Invoice:{ref}", invoice, version)


def _pay_and_mark(stack: FlowStack, bills: list[dict[str, Any]]) -> list[MarkAirbaseEntrySynced]:
    """An approver approves and pays each bill; the Visma writer's mark of each payment."""
    marks = []
    for n, bill in enumerate(bills):
        admin = f"{stack.base_url}/airbase/_sandbox/bills/{bill['airbase_id']}"
        httpx.post(f"{admin}/approve", timeout=30).raise_for_status()
        paid = httpx.post(f"{admin}/pay", timeout=30)
        paid.raise_for_status()
        marks.append(MarkAirbaseEntrySynced(
            command_id=f"mark-{stack.run_id}-{n}", tenant_id="tenant-se-1",
            rule="airbase-payments", source_event_id=f"payment-{n}",
            entity_type="supplierPayment", entity_id=f"tenant-se-1/tenant-se-1/payment/{n}",
            created_at=datetime.now(UTC), entry_id=paid.json()["airbase_id"],
            visma_payment_number=f"{900000 + n}", company_id="tenant-se-1",
        ))  # fmt: skip
    return marks


def _everything(stack: FlowStack, resource: str) -> dict[str, Any]:
    """Tenant -> the sandbox's records and create counters of one collection."""
    return {t: stack.get(f"/airbase/_sandbox/{resource}?tenant={t}") for t in DEMO_TENANTS}


def _made(stack: FlowStack) -> int:
    return sum(len(found["records"]) for r in ("vendors", "bills")
               for found in _everything(stack, r).values())  # fmt: skip


def test_sigkill_five_times_no_vendor_or_bill_twice_none_lost(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    seed = random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    stack = make_stack(invoices=1)
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"airbase-sink-{stack.run_id}")
    stack.start_sandbox()
    admin = f"{stack.base_url}/airbase/_sandbox"
    httpx.patch(f"{admin}/limits", json={"requests_per_hour": 1_000_000},
                timeout=30).raise_for_status()  # fmt: skip
    for fault in FAULTS:
        httpx.post(f"{admin}/faults", json=fault, timeout=30).raise_for_status()

    invoices, changed, early, late = [], [], [], []
    for tenant in DEMO_TENANTS:
        suppliers = [_supplier(tenant, n) for n in range(SUPPLIERS)]
        early += suppliers[: SUPPLIERS // 2]
        late += suppliers[SUPPLIERS // 2 :]
        invoices += [_invoice(tenant, n) for n in range(INVOICES)]
        changed += [_invoice(tenant, n, version=2) for n in range(CHANGED)]
    commands = early + invoices + late + changed
    produce(kafka_bootstrap, stack.topics.airbase_commands, commands)
    sink = stack.start("airbase-sink")

    kills: list[int] = []
    for _ in range(KILLS):
        before = _made(stack)
        wait_until(lambda before=before: _made(stack) > before,  # type: ignore[misc]
                   timeout=60, stack=stack, what="progress after a restart", every=0.1)  # fmt: skip
        time.sleep(rng.uniform(0.0, 1.0))
        sink.kill()
        kills.append(_made(stack))
        sink = stack.start("airbase-sink")
    wanted = len(DEMO_TENANTS) * (SUPPLIERS + INVOICES)
    assert kills[-1] < wanted, f"the kills came too late: {kills}"

    ids = {c.command_id for c in commands}
    entries: dict[str, SinkDelivery] = {}

    def all_done() -> bool:
        entries.update(ledger(kafka_bootstrap, stack.topics.airbase_ledger, SinkDelivery))
        return ids <= {i for i, e in entries.items() if e.status is DeliveryStatus.DONE}

    wait_until(all_done, timeout=180, stack=stack, what="every DONE entry", every=1.0)
    problems = []
    for resource, count in (("vendors", SUPPLIERS), ("bills", INVOICES)):
        for tenant, found in _everything(stack, resource).items():
            creates = found["counters"]["creates"]
            twice = {ref: n for ref, n in creates.items() if n != 1}
            if twice or len(found["records"]) != count or len(creates) != count:
                problems.append(f"{tenant} {resource}: {len(found['records'])} records, "
                                f"{len(creates)} created, more than once: {twice}")  # fmt: skip
    assert problems == []
    bills = _everything(stack, "bills")["tenant-se-1"]["records"]
    amounts = {b["erp_reference_id"]: b["total_amount"] for b in bills}
    assert all(amounts[f"{10000 + n}"] == f"{100 * n + 2}.50" for n in range(CHANGED))
    bill = next(b for b in bills if b["erp_reference_id"] == "10004")
    assert bill["vendor"]["erp_reference_id"] == "50004"
    assert bill["expense_list"][0]["account"]["erp_reference_id"] == "6110"
    assert bill["expense_list"][0]["tags"][0]["erp_reference_id"] == "CC200"
    marks = _pay_and_mark(stack, bills[:PAID])
    produce(kafka_bootstrap, stack.topics.airbase_commands, marks + marks)  # the writer's, twice
    ids |= {m.command_id for m in marks}
    wait_until(all_done, timeout=60, stack=stack, what="every mark DONE", every=0.5)
    entries_now = _everything(stack, "ledger_entries")["tenant-se-1"]
    assert {e["erp_reference_id"]: e["status"] for e in entries_now["records"]} == {
        m.visma_payment_number: "synced" for m in marks
    }
    assert entries_now["counters"]["updates"] == {m.visma_payment_number: 1 for m in marks}
    assert entries_now["counters"]["unchanged"] == {}  # the repeats were the ledger's to drop
    assert _dead_lettered(kafka_bootstrap, f"dlq.run-{stack.run_id}-airbase-sink.v1") == 0
    fired = stack.get("/airbase/_sandbox/stats")
    print(
        f"\nseed {seed}: {KILLS} kills at {kills} objects made of {wanted}; "
        f"{len(commands)} commands; faults fired {fired['faults_fired']} of "
        f"{fired['requests_total']} requests; test took {time.monotonic() - started:.0f} s"
    )
