"""The demo's Airbase part alone, as `mlc demo` runs it, on the real broker: visma-poller,
processor (the part's rule only), airbase-sink, airbase-poller, airbase-payments and the
Visma writer as processes, the ingress taking Airbase's signed webhooks, the sandbox's Visma
and Airbase.

It must end OK: every supplier invoice of the Swedish company one Airbase bill, each supplier
one vendor, the three bills the approver paid three Visma supplier payments on the invoices'
supplier, amount, GL accounts and cost centers, their Airbase entries synced with the Visma
payment numbers. 50 invoices: the Visma sandbox then has more than three `Open` in the
company without the Slack part's approval (the demo's 25 have two, and its approval a third).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mlc import demo_airbase
from mlc.stack import FlowStack, free_port

pytestmark = pytest.mark.e2e


def test_the_airbase_part_ends_ok_three_bills_paid_in_airbase_booked_once_in_visma(
    make_stack: Callable[..., FlowStack], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    started = time.monotonic()
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"rules": []}))
    demo_airbase.add_rules(rules)
    stack = make_stack(invoices=50, rules=rules, poll_interval=2.0, ingress_port=free_port())
    demo_airbase.prepare(stack)
    stack.start_sandbox()
    stack.start("ingress").wait_for_log("listening", timeout=60)
    stack.start_services(["visma-poller", "processor", "visma-writer"])
    demo_airbase.start(stack)
    ok = demo_airbase.check(stack, deadline=started + 150)
    said = capsys.readouterr().out

    assert ok, said
    assert "check                      : OK" in said
    assert "Airbase approver           : approved and paid 3 bills" in said
    assert "Visma supplier payments    : 3 written" in said
    assert len(re.findall(r"^  payment \S+: supplier \d+, invoice \d+, ", said, re.M)) == 3, said
    assert "Airbase entries synced     : 3 of 3" in said
    assert "Airbase bill_paid webhooks : 3 delivered to the ingress (signed)" in said
    took = time.monotonic() - started
    print(f"\nthe demo's Airbase part alone: OK in {took:.0f} s\n{said}")
