"""500 Visma records (supplier invoices, purchase orders, customer invoices) to 3 monday
boards under a complexity budget small enough to bind the whole run: every record becomes
exactly one item (found by its Visma id) with the right column values, later changes update
the same items, no request fails for the budget without being tried again, and no board ever
has two mutations in flight (the sandbox records the most it saw per board).

The sandbox clock runs `SPEED` times faster, so monday's one-minute budget window lasts
60/SPEED real seconds; the budget lets `BUDGET / (cost of a mutation)` mutations through a
window. The test prints the items a minute achieved against that allowance.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import httpx
import pytest

from chassis.settings import KafkaSettings
from events.monday_deliveries import MondayAction, MondayDeliveryStatus
from mlc.audit import read_audit
from mlc.stack import FlowStack
from tests.e2e.monday_boards import (
    ENTITIES,
    TENANT,
    add_boards,
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

RECORDS = 500
CHANGED = 60
SPEED = 10.0
"""Sandbox seconds per real second: a budget window is 6 real seconds."""
BUDGET = 600_000
"""Complexity points per sandbox minute: about 60 mutations (monday: 10,000 each), 10 a
real second: less than the sink manages on a busy machine, so the budget is what binds."""
MUTATION_COST = 10_000


class BudgetWindows:
    """Samples the sandbox's points spent in the token's current window; a drop starts a new
    window, so each window's most seen is known (sampled every quarter second)."""

    def __init__(self, stack: FlowStack) -> None:
        self._stack = stack
        self._last = 0
        self._window_max = 0
        self.maxima: list[int] = []

    def sample(self) -> None:
        usage = stats(self._stack)["usage"]
        spent = sum(int(u["points_spent"]) for u in usage.values())
        if spent < self._last:
            self.maxima.append(self._window_max)
            self._window_max = 0
        self._last = spent
        self._window_max = max(self._window_max, spent)

    def full(self, *, at_least: float) -> list[int]:
        return [m for m in self.maxima if m >= at_least]


def test_500_records_to_3_boards_one_item_each_within_the_budget(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str
) -> None:
    started = time.monotonic()
    per_entity = math.ceil(RECORDS / len(ENTITIES))
    stack = make_stack(invoices=per_entity)
    stack.sandbox_args = sandbox_config(
        stack.state_dir / "sandbox.yaml", per_entity=per_entity, budget=BUDGET, clock_speed=SPEED
    )
    stack.start_sandbox()
    boards = add_boards(stack, run=stack.run_id)
    stack.monday_mappings = (boards.mapping,)
    raws = {entity: records(stack, entity) for entity in ENTITIES}
    take = [per_entity, per_entity, RECORDS - 2 * per_entity]
    commands = [
        c for entity, n in zip(ENTITIES, take, strict=True)
        for c in commands_for(raws[entity][:n], entity, boards)
    ]  # fmt: skip
    assert len({c.visma_id for c in commands}) == RECORDS
    produce(kafka_bootstrap, stack.topics.monday_commands, commands)
    stack.start("monday-sink")

    windows = BudgetWindows(stack)

    def all_done(wanted: list[str]) -> Callable[[], bool]:
        looks = iter(range(1 << 30))

        def done() -> bool:
            windows.sample()
            if next(looks) % 4:
                return False
            entries = ledger(kafka_bootstrap, stack.topics.monday_ledger)
            return all(
                c in entries and entries[c].status is MondayDeliveryStatus.DONE for c in wanted
            )

        return done

    first = wait_until(
        all_done([c.command_id for c in commands]), timeout=150, stack=stack,
        what=f"{RECORDS} items", every=0.25,
    )  # fmt: skip
    full = windows.full(at_least=0.8 * BUDGET)

    # Later changes: a status moves on in Visma; the processor sends each record again.
    changed = []
    for entity in ENTITIES:
        chosen = raws[entity][: CHANGED // len(ENTITIES)]
        for raw in chosen:
            answer = httpx.patch(
                f"{stack.base_url}/visma/_sandbox/entities/{entity}/{TENANT}/{raw['entityId']}",
                json={"status": "Changed by test"}, timeout=30,
            )  # fmt: skip
            answer.raise_for_status()
        fresh = {r["entityId"]: r for r in records(stack, entity)}
        changed += commands_for([fresh[r["entityId"]] for r in chosen], entity, boards)
    produce(kafka_bootstrap, stack.topics.monday_commands, changed)
    wait_until(
        all_done([c.command_id for c in changed]), timeout=60, stack=stack,
        what="the changes", every=0.25,
    )  # fmt: skip
    took = time.monotonic() - started

    entries = ledger(kafka_bootstrap, stack.topics.monday_ledger)
    assert item_problems(stack, boards, commands + changed) == []
    assert {c.fields["status"] for c in changed} == {"Changed by test"}
    first_item = {entries[c.command_id].visma_id: entries[c.command_id].item_id for c in commands}
    for command in changed:  # the same item, updated
        entry = entries[command.command_id]
        assert entry.action is MondayAction.UPDATED
        assert entry.item_id == first_item[command.visma_id]
    changed_ids = {c.command_id for c in changed}
    batched = [
        e for e in read_audit(KafkaSettings(bootstrap_servers=kafka_bootstrap))
        if e["command_id"] in changed_ids and e["stage"] == "sent" and "(one of" in e["detail"]
    ]  # fmt: skip
    assert batched, "a board's backlog of updates went one per request"
    seen = stats(stack)
    assert seen["max_mutations_in_flight"] == dict.fromkeys(boards.ids.values(), 1)
    group = f"run-{stack.run_id}-monday-sink"
    assert _dead_lettered(kafka_bootstrap, f"dlq.{group}.v1") == 0

    assert len(full) >= 2, f"the budget was filled in only {len(full)} windows: {full}"
    allowed_per_minute = BUDGET // MUTATION_COST
    window_real = 60.0 / SPEED
    achieved = RECORDS / first * window_real  # items per sandbox minute
    print(
        f"\n{RECORDS} items on 3 boards in {first:.1f} s real = {RECORDS / first * 60:.0f} "
        f"items per real minute; per sandbox minute (the budget's window, {window_real:.1f} s "
        f"real): {achieved:.1f} achieved of {allowed_per_minute} the budget allows "
        f"({achieved / allowed_per_minute:.0%}); budget windows filled to 80%+: {len(full)} "
        f"of {len(windows.maxima)} seen; {len(changed)} updates, {len(batched)} of them "
        f"several to a request; "
        f"refusals {seen['refusals']}; max mutations in flight {seen['max_mutations_in_flight']}"
        f"; test took {took:.0f} s"
    )
