"""SIGKILL of the monday-sink at random points, five times in one run: no record gets two
items, none is lost, and every later change lands on its record's item.

150 Visma records on 3 boards, then a second version of 30 of them. Every mutation takes
0.3 s in the sandbox before monday acts, so a kill often lands while a create is under way:
monday makes the item, the sink never hears of it and its ledger says only PENDING. After
each kill the sink is restarted at once (a static member, as in a StatefulSet) and must find
such an item by its Visma ID column instead of creating it again. Every create and update
is in the audit trail with its item id, kills or not.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import httpx
import pytest

from chassis.settings import KafkaSettings
from events.monday_deliveries import MondayDeliveryStatus
from mlc.audit import read_audit
from mlc.stack import FlowStack
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
)
from tests.e2e.test_slack_sink_interrupted import _dead_lettered
from tests.e2e.twilio_alerts import produce, wait_until

pytestmark = pytest.mark.e2e

KILLS = 5
PER_ENTITY = 50
CHANGED_PER_ENTITY = 10


def test_sigkill_five_times_no_duplicate_items_nothing_lost(
    make_stack: Callable[..., FlowStack], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    seed = random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    stack = make_stack(invoices=PER_ENTITY)
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", f"monday-sink-{stack.run_id}")
    stack.sandbox_args = sandbox_config(
        stack.state_dir / "sandbox.yaml", per_entity=PER_ENTITY, budget=10_000_000,
        clock_speed=1.0, mutation_latency=0.3,
    )  # fmt: skip
    stack.start_sandbox()
    boards = add_boards(stack, run=stack.run_id)
    stack.monday_mappings = (boards.mapping,)
    commands, changed = [], []
    for entity in ENTITIES:
        raws = records(stack, entity)[:PER_ENTITY]
        commands += commands_for(raws, entity, boards)
        for raw in raws[:CHANGED_PER_ENTITY]:
            httpx.patch(
                f"{stack.base_url}/visma/_sandbox/entities/{entity}/{TENANT}/{raw['entityId']}",
                json={"status": "Changed by test"}, timeout=30,
            ).raise_for_status()  # fmt: skip
        fresh = {r["entityId"]: r for r in records(stack, entity)}
        changed += commands_for(
            [fresh[r["entityId"]] for r in raws[:CHANGED_PER_ENTITY]], entity, boards
        )
    produce(kafka_bootstrap, stack.topics.monday_commands, commands + changed)
    sink = stack.start("monday-sink")

    def items_made() -> int:
        return sum(len(board_items(stack, b)) for b in boards.ids.values())

    kills: list[int] = []
    for _ in range(KILLS):
        before = items_made()
        wait_until(
            lambda before=before: items_made() > before,  # type: ignore[misc]
            timeout=60, stack=stack, what="progress after a restart", every=0.1,
        )  # fmt: skip
        time.sleep(rng.uniform(0.0, 1.0))
        sink.kill()
        kills.append(items_made())
        sink = stack.start("monday-sink")
    assert kills[-1] < len(commands), f"the kills came too late: {kills}"

    wanted = [c.command_id for c in commands + changed]
    entries = {}

    def all_done() -> bool:
        entries.update(ledger(kafka_bootstrap, stack.topics.monday_ledger))
        return all(c in entries and entries[c].status is MondayDeliveryStatus.DONE for c in wanted)

    wait_until(all_done, timeout=90, stack=stack, what="every DONE entry", every=1.0)
    assert item_problems(stack, boards, commands + changed) == []
    first_item = {entries[c.command_id].visma_id: entries[c.command_id].item_id for c in commands}
    assert all(entries[c.command_id].item_id == first_item[c.visma_id] for c in changed)
    group = f"run-{stack.run_id}-monday-sink"
    assert _dead_lettered(kafka_bootstrap, f"dlq.{group}.v1") == 0
    interrupted = sum(1 for c in wanted if entries[c].attempts > 1)
    ids = set(wanted)
    audit = [
        e for e in read_audit(KafkaSettings(bootstrap_servers=kafka_bootstrap))
        if e["command_id"] in ids and e["stage"] == "sent"
    ]  # fmt: skip
    assert {e["command_id"] for e in audit} == ids  # every create and update, item id and all
    assert all(e["external_id"] == entries[e["command_id"]].item_id for e in audit
               if e["detail"].startswith("created"))  # fmt: skip
    found = sum(1 for e in audit if "found by its Visma id" in (e["detail"] or ""))
    print(
        f"\nseed {seed}: {KILLS} kills at {kills} items made; {len(commands)} records, "
        f"{len(changed)} changes; {interrupted} commands needed more than one attempt, "
        f"{found} of them found on the board (made by an interrupted create) instead of "
        f"created again; {len(audit)} 'sent' audit events for {len(wanted)} commands; "
        f"test took {time.monotonic() - started:.0f} s"
    )
