"""Issue 14's acceptance under crashes: the whole Visma <-> Airbase loop (tests/e2e/airbase_loop.py)
with about 10 % of both sandboxes' answers a 429 or a 5xx, while the airbase-sink, the
airbase-poller and the Visma writer are SIGKILLed at random points, at least five times each,
and restarted at once as their Deployments would be. No vendor, bill or Visma payment made
twice, none lost, every Airbase entry marked synced once with its one Visma payment.

20 supplier invoices go to Airbase (the airbase-sink killed while it makes the vendors and
bills), then 12 are paid two at a time; after each pair the three services are killed in a
random order, each after it has worked on the pair, a random fraction of a second later. A
third of Airbase's writes and half of Visma's payment creates hold their answer back after
the object is made, so a kill often lands between the other side's 201 and the ledger's DONE.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from mlc.stack import FlowStack
from tests.e2e.airbase_loop import (
    ENTITIES,
    RULES,
    TENANT,
    AirbaseLoop,
    allocations,
    booked,
    money,
    twice,
)
from tests.e2e.test_slack_sink_interrupted import _dead_lettered

pytestmark = pytest.mark.e2e

INVOICES = 20
PAID = 12
PAIR = 2
KILLED = ("airbase-sink", "airbase-poller", "visma-writer")
AIRBASE_FAULTS = (  # each with its own chance: about 10 % of all calls faulted
    {"status": 429, "retry_after": 1, "probability": 0.05, "times": None},
    {"status": 503, "probability": 0.03, "times": None},
    {"status": 500, "probability": 0.02, "times": None},
    {"method": "POST", "delay_after_seconds": 0.3, "probability": 0.3, "times": None},
    {"method": "PATCH", "delay_after_seconds": 0.3, "probability": 0.3, "times": None},
)
VISMA_FAULTS = (
    {"status": 429, "retry_after": 1, "probability": 0.05, "times": None, "path_prefix": "/v1/"},
    {"status": 500, "probability": 0.05, "times": None, "path_prefix": "/v1/"},
    {"method": "POST", "path_prefix": "/v1/supplierPayment", "delay_after_seconds": 0.8,
     "probability": 0.5, "times": None},
)  # fmt: skip


class KilledLoop(AirbaseLoop):
    def progress(self, name: str) -> int:
        """How far a service got: the poller's pulls that published, the writer's steps, the
        sink's writes to Airbase."""
        if name == "airbase-poller":
            return self.stack.children[name].log_path.read_text().count('"msg": "pulled"')
        if name == "visma-writer":
            return self.stack.children[name].log_path.read_text().count('"msg": "visma write"')
        made = [self.airbase(r)["counters"] for r in ("vendors", "bills", "ledger_entries")]
        return sum(sum(c[kind].values()) for c in made for kind in ("creates", "updates"))

    def kill_after_progress(self, name: str, since: int, rng: random.Random) -> str:
        """Kills `name` a random moment after it did more than `since`; starts it again."""
        self.wait(f"{name} at work", lambda: self.progress(name) > since, timeout=120)
        time.sleep(rng.uniform(0.0, 1.0))  # a random point of its work, not a synchronisation
        self.stack.children[name].kill()
        point = f"{name}@{self.progress(name)}"
        self.stack.start(name)
        return point


def test_sigkill_of_sink_poller_and_writer_with_faults_nothing_twice_nothing_lost(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    seed = random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    stack = make_stack(invoices=INVOICES, rules=RULES, poll_interval=2.0, entities=ENTITIES,
                       visma_hourly_budget=10_000, sandbox_args=("--hourly-budget", "10000"),
                       airbase_poll_every=1.0, airbase_poll_calls=100_000)  # fmt: skip
    # Static members, as pods: a restarted service takes over without waiting out a session.
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"airbase-loop-{stack.run_id}")
    loop = KilledLoop(stack)
    loop.start_sandbox()
    to_pay = loop.release_for_payment(PAID)
    for fault in AIRBASE_FAULTS:
        loop.airbase_admin("POST", "/faults", fault)
    for fault in VISMA_FAULTS:
        loop.visma_admin("POST", "/faults", fault)
    loop.start_services()

    kills: list[str] = []
    wanted = INVOICES + len({i["supplier"]["number"] for i in loop.invoices()})
    for _ in range(3):  # the sink killed while it makes vendors and bills, as long as it does
        made = loop.progress("airbase-sink")
        if made >= wanted:
            break
        kills.append(loop.kill_after_progress("airbase-sink", made, rng))
    loop.wait(f"{INVOICES} Airbase bills", lambda: len(loop.bills_by_invoice()) >= INVOICES)

    by_invoice = loop.bills_by_invoice()
    paid_bills = [by_invoice[i["referenceNumber"]] for i in to_pay]
    entries = {}
    for start in range(0, PAID, PAIR):
        before = {name: loop.progress(name) for name in KILLED}
        entries |= loop.approve_and_pay(paid_bills[start : start + PAIR])
        for name in rng.sample(KILLED, len(KILLED)):
            kills.append(loop.kill_after_progress(name, before[name], rng))
    assert all(sum(k.startswith(n) for k in kills) >= 5 for n in KILLED), kills

    entry_ids = {e["airbase_id"] for e in entries.values()}
    back = loop.wait(f"{PAID} entries marked synced",
                     lambda: all(loop.synced().get(e) for e in entry_ids))  # fmt: skip
    bills, vendors = loop.airbase("bills"), loop.airbase("vendors")
    invoices = {i["referenceNumber"]: i for i in loop.invoices()}
    assert twice(bills["counters"]["creates"]) == {}
    assert twice(vendors["counters"]["creates"]) == {}
    assert sorted(loop.bills_by_invoice()) == sorted(invoices)
    assert {i["supplier"]["number"] for i in invoices.values()} <= {
        v["erp_reference_id"] for v in vendors["records"]
    }
    payments = loop.visma_payments()
    assert {e: len(payments.get(e, [])) for e in entry_ids} == {e: 1 for e in entry_ids}
    assert set(payments) == entry_ids
    synced = loop.synced()
    for bill in paid_bills:
        entry = entries[bill["airbase_id"]]["airbase_id"]
        (payment,) = payments[entry]
        invoice = invoices[bill["erp_reference_id"]]
        assert payment["supplier"]["number"] == invoice["supplier"]["number"]
        assert [line["refNbr"] for line in payment["paymentLines"]] == [bill["erp_reference_id"]]
        assert money(payment["paymentAmount"]) == money(bill["total_amount"])
        assert booked(payment) == allocations(bill)
        assert synced[entry] == str(payment["refNbr"])
        assert (invoice["balance"], invoice["status"]) == (0.0, "Closed"), "paid once, in full"
    ledger = loop.airbase("ledger_entries")["counters"]
    assert twice(ledger["updates"]) == {}, "each entry marked synced once"
    assert len(ledger["updates"]) == PAID
    for group in ("writer", "airbase-sink", "airbase-payments"):
        assert _dead_lettered(kafka_bootstrap, f"dlq.run-{stack.run_id}-{group}.v1") == 0, group
    # Where a kill came between the other side's answer and the ledger's DONE, the restarted
    # service found its earlier write instead of making a second one.
    recognised = stack.children["visma-writer"].log_path.read_text().count('"stage": "skipped"')
    found = stack.children["airbase-sink"].log_path.read_text().count("found by its ERP reference")
    airbase_fired = loop.airbase_admin("GET", "/stats")
    visma_fired = loop.visma_admin("GET", "/faults/fired")["by_status"]
    print(
        f"\nseed {seed}: kills {kills}; {INVOICES} invoices -> {len(bills['records'])} bills, "
        f"{len(vendors['records'])} vendors, each created once; {PAID} paid -> "
        f"{sum(len(p) for p in payments.values())} Visma payments, "
        f"{sum(1 for v in synced.values() if v)} entries synced "
        f"(re-marks answered unchanged: {sum(ledger['unchanged'].values())}) {back:.0f} s after "
        f"the last kill; redelivered payments the writer found written: {recognised}, Airbase "
        f"objects the sink found by ERP reference: {found}; "
        f"Airbase faults {airbase_fired['faults_fired']} of "
        f"{airbase_fired['requests_total']} calls, Visma faults {visma_fired}; "
        f"{TENANT}; test took {time.monotonic() - started:.0f} s"
    )
