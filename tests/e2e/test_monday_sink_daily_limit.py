"""monday's daily call limit reached mid-run: the tenant's work is held (not failed, not
dead-lettered), an alert goes to the log and to `mlc_monday_daily_limit_held`, and every
record is written once the limit resets at the sandbox's midnight (the test moves the
sandbox clock past it instead of waiting).

60 records need about 120 calls (a lookup and a create each); the token may make 70 a day.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import pytest

from events.monday_deliveries import MondayDeliveryStatus
from mlc.stack import FlowStack, free_port
from tests.e2e.monday_boards import (
    ENTITIES,
    TENANT,
    add_boards,
    board_items,
    commands_for,
    item_problems,
    ledger,
    records,
    sandbox_config,
    stats,
)
from tests.e2e.test_slack_sink_interrupted import _dead_lettered
from tests.e2e.twilio_alerts import produce, wait_until

pytestmark = pytest.mark.e2e

PER_ENTITY = 20
DAILY_CALLS = 70
DAY = 86_400


def held_metric(port: int) -> float | None:
    """The sink's gauge for the tenant; None before the sink serves its metrics."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    except httpx.TransportError:
        return None
    found = re.search(
        rf'^mlc_monday_daily_limit_held\{{tenant="{TENANT}"\}} ([0-9.e+-]+)$', text, re.M
    )
    return float(found.group(1)) if found else None


def test_a_daily_limit_mid_run_holds_alerts_and_finishes_after_the_reset(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    health = free_port()
    monkeypatch.setenv("MLC_HEALTH_PORT", str(health))  # the sink's, for its metrics
    stack = make_stack(invoices=PER_ENTITY, monday_sink_args=("--daily-limit-probe-seconds", "1"))
    stack.sandbox_args = sandbox_config(
        stack.state_dir / "sandbox.yaml", per_entity=PER_ENTITY, budget=10_000_000,
        clock_speed=1.0, daily_call_limit=DAILY_CALLS,
    )  # fmt: skip
    stack.start_sandbox()
    boards = add_boards(stack, run=stack.run_id)
    stack.monday_mappings = (boards.mapping,)
    commands = [
        c for entity in ENTITIES for c in commands_for(records(stack, entity), entity, boards)
    ]  # fmt: skip
    assert len(commands) == PER_ENTITY * len(ENTITIES)
    produce(kafka_bootstrap, stack.topics.monday_commands, commands)
    sink = stack.start("monday-sink")

    wait_until(
        lambda: held_metric(health) == 1.0, timeout=60, stack=stack,
        what="the daily limit's hold", every=0.2,
    )  # fmt: skip
    made = sum(len(board_items(stack, b)) for b in boards.ids.values())
    assert 0 < made < len(commands), f"{made} items made before the limit"
    log = sink.log_path.read_text()
    assert log.count("ALERT: monday's daily call limit is reached") == 1
    assert stats(stack)["refusals"].get("DAILY_LIMIT_EXCEEDED", 0) >= 1

    clock = stack.get("/monday/_sandbox/clock")
    to_midnight = DAY - float(clock["epoch"]) % DAY + 1
    httpx.post(
        f"{stack.base_url}/monday/_sandbox/clock",
        json={"advance_seconds": to_midnight},
        timeout=10,
    ).raise_for_status()
    held_until = time.monotonic()

    wanted = [c.command_id for c in commands]

    def all_done() -> bool:
        entries = ledger(kafka_bootstrap, stack.topics.monday_ledger)
        return all(c in entries and entries[c].status is MondayDeliveryStatus.DONE for c in wanted)

    resumed = wait_until(all_done, timeout=60, stack=stack, what="every record", every=0.5)
    assert item_problems(stack, boards, commands) == []
    assert held_metric(health) == 0.0
    assert "daily call limit has reset" in sink.log_path.read_text()
    group = f"run-{stack.run_id}-monday-sink"
    assert _dead_lettered(kafka_bootstrap, f"dlq.{group}.v1") == 0
    print(
        f"\n{made} of {len(commands)} items before the daily limit ({DAILY_CALLS} calls); "
        f"held until the sandbox clock passed midnight, the rest in {resumed:.1f} s after "
        f"({time.monotonic() - held_until:.1f} s); refusals {stats(stack)['refusals']}; "
        f"test took {time.monotonic() - started:.0f} s"
    )
