"""The demo's BILL part alone, as `mlc demo` runs it, on the real broker: ingress, Visma writer,
visma-poller, bill-mapping and bill-poller as processes, the sandbox's BILL and Visma.

It must end OK: every bill one Visma supplier invoice on its vendor's supplier, the new
vendor's two bills held until the supplier is made by hand and then written once, in order.
The visma-poller's cadence is ten minutes here, longer than the test may take, so the held
bills can only be released through Visma's webhook making it read the new supplier at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.notifications import VISMA_NOTIFICATIONS, VismaNotificationReceived
from mlc import demo_bill
from mlc.stack import FlowStack, free_port

pytestmark = pytest.mark.e2e

SERDE = AvroSerde(SchemaCatalog.load())
CADENCE = 600.0
"""Seconds between the visma-poller's scheduled polls: none comes during the test."""


def test_the_bill_part_ends_ok_the_held_bills_released_by_vismas_webhook(
    make_stack: Callable[..., FlowStack], capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    stack = make_stack(invoices=0, entities=("supplier",), poll_interval=CADENCE)
    demo_bill.prepare(stack)
    stack.start_sandbox()
    stack.ingress_port = free_port()
    stack.start("ingress").wait_for_log("listening", timeout=60)
    stack.start_services(["visma-poller", "visma-writer"])
    demo_bill.start(stack)
    scene = demo_bill.enter(stack, seed=42, deadline=started + 90)
    ok = demo_bill.check(stack, scene, deadline=started + 150)
    said = capsys.readouterr().out

    assert ok, said
    assert len(scene.vendors) == demo_bill.MATCHED_VENDORS + 1
    assert len(scene.bills) == len(scene.vendors) * demo_bill.BILLS_PER_VENDOR
    assert "check                      : OK" in said
    assert "2 held (no Visma supplier for Nyhavn Kaffe ApS), 2 released" in said
    paths = re.search(r"by webhook (\d+), by the poll (\d+)", said)
    assert paths is not None, said
    assert int(paths[1]) + int(paths[2]) == len(scene.bills), "every bill seen by one path"
    made = next(v for v in scene.vendors.values() if v.name == demo_bill.NEW_VENDOR)
    topic = stack.topics.prefix + VISMA_NOTIFICATIONS.name
    notified = [
        VismaNotificationReceived.from_record(SERDE.decode(value)[1])
        for _, value in iter_to_end(KafkaSettings(), topic, client=f"bill-part-{stack.run_id}")
    ]
    created = [n for n in notified if n.entity_id == made.supplier_number and n.event]
    assert created, f"no Visma webhook stored for supplier {made.supplier_number}: {notified}"
    took = time.monotonic() - started
    print(f"\nthe demo's BILL part alone: OK in {took:.0f} s\n{said}")
