"""What the monday-sink e2e tests share: three boards on the sandbox's monday, their mapping
file, Visma records of the sandbox turned into CreateMondayItem commands by the processor's
own routing, and reading back the items, the sandbox's stats and the sink's ledger.

The commands are made the way the processor makes them (`visma_poller.mapping.entity_event`
then `processor.routing.route_all` with monday targets), from the sandbox's own Visma
records, then produced straight to the sink's topic: the test is about the sink, so the
poller and the processor processes are not in the way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import yaml

from chassis.kafka.state import StateLoadError, read_newest
from chassis.settings import KafkaSettings
from events.commands import CreateMondayItem
from events.monday_deliveries import MondayDelivery
from mlc.stack import FlowStack
from processor.routing import route_all
from processor.rules import load_rules
from tests.e2e.twilio_alerts import SERDE
from visma_client.entities import VISMA_ENTITIES
from visma_poller.mapping import entity_event

TENANT = "tenant-se-1"
ENTITIES = ("supplierInvoice", "purchaseOrder", "customerInvoice")
COLUMNS = (
    ("text_visma_id", "Visma ID", "text", "visma_id"),
    ("text_reference", "Reference", "text", "reference"),
    ("text_party", "Party", "text", "party"),
    ("numbers_total", "Total", "numbers", "total"),
    ("text_status", "Status", "text", "status"),
)
"""(column id, title, type, the Visma field it shows) on every board."""
OVERDUE = ("numbers_overdue", "Days overdue", "numbers", "days_overdue")
"""The collections board (customer invoices) shows days overdue too."""


def columns_of(entity: str) -> tuple[tuple[str, str, str, str], ...]:
    return (*COLUMNS, OVERDUE) if entity == "customerInvoice" else COLUMNS


def sandbox_config(
    path: Path,
    *,
    per_entity: int,
    budget: int,
    clock_speed: float,
    daily_call_limit: int = 10_000,
    mutation_latency: float = 0.0,
) -> tuple[str, ...]:
    """Writes the sandbox's YAML: `per_entity` records of each entity per company, monday's
    complexity budget a (sandbox) minute; returns the sandbox's arguments."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(
            {
                "clock_speed": clock_speed,
                "visma": {
                    "invoices_per_company": per_entity,
                    "entity_counts": {e: per_entity for e in ENTITIES[1:]},
                },
                "monday": {
                    "complexity_budget_per_minute": budget,
                    "daily_call_limit": daily_call_limit,
                    "mutation_latency_seconds": mutation_latency,
                    "seed_procurement_board": False,
                },
            }
        )
    )
    return ("--config", str(path))


@dataclass(frozen=True)
class Boards:
    ids: dict[str, str]
    """Entity type -> its board's id."""
    mapping: Path
    rules: Path


def add_boards(stack: FlowStack, *, run: str) -> Boards:
    """One board per entity type, its mapping (by table) and the rules routing to it."""
    ids = {}
    for entity in ENTITIES:
        columns = [{"id": c, "title": t, "type": k} for c, t, k, _ in columns_of(entity)]
        answer = httpx.post(
            f"{stack.base_url}/monday/_sandbox/boards",
            json={"name": f"{entity} {run}", "columns": columns},
            timeout=30,
        )
        answer.raise_for_status()
        ids[entity] = str(answer.json()["id"])
    mapping = stack.state_dir / "monday-mapping.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "tenant": TENANT,
                "boards": [
                    {"board": ids[entity], "match": "table",
                     "columns": {field: c for c, _, _, field in columns_of(entity)}}
                    for entity in ENTITIES
                ],
            }
        )
    )  # fmt: skip
    rules = stack.state_dir / "monday-rules.yaml"
    rules.write_text(
        yaml.safe_dump(
            {
                "rules": [
                    {"name": f"monday-{entity}-{run}",
                     "when": {"entity_type": entity, "tenant": TENANT},
                     "targets": [{"monday": {"board": ids[entity]}}]}
                    for entity in ENTITIES
                ]
            }
        )
    )  # fmt: skip
    return Boards(ids, mapping, rules)


def records(stack: FlowStack, entity: str) -> list[dict[str, Any]]:
    """The tenant's company's records of one entity type, as Visma's API shows them."""
    found: list[dict[str, Any]] = stack.get(f"/visma/_sandbox/entities/{entity}?company={TENANT}")
    return found


def commands_for(raws: list[dict[str, Any]], entity: str, boards: Boards) -> list[CreateMondayItem]:
    """What the processor sends the sink for these records (one command each)."""
    rules = load_rules(boards.rules)
    commands = []
    for raw in raws:
        dto = VISMA_ENTITIES[entity].model.model_validate(raw)
        event = entity_event(
            entity, dto, tenant_id=TENANT, company_id=TENANT, observed_at=datetime.now(UTC)
        )
        routed = [c for c in route_all(event, rules) if isinstance(c, CreateMondayItem)]
        assert len(routed) == 1, f"{entity} {raw.get('entityId')}: {len(routed)} commands"
        commands.extend(routed)
    return commands


def board_items(stack: FlowStack, board: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.get(f"/monday/_sandbox/boards/{board}/items")
    return found


def stats(stack: FlowStack) -> dict[str, Any]:
    found: dict[str, Any] = stack.get("/monday/_sandbox/stats")
    return found


def ledger(kafka: str, topic: str) -> dict[str, MondayDelivery]:
    try:
        found = read_newest(
            KafkaSettings(bootstrap_servers=kafka), topic, client="e2e-check", partitions=range(6)
        )
    except StateLoadError:
        return {}
    return {
        key: MondayDelivery.from_record(SERDE.decode(r.value)[1])
        for key, r in found.items()
        if r.value is not None
    }


def latest_by_record(commands: list[CreateMondayItem]) -> dict[str, CreateMondayItem]:
    """Visma id -> its newest command (the order they were produced in)."""
    latest: dict[str, CreateMondayItem] = {}
    for command in commands:
        assert command.visma_id is not None
        latest[command.visma_id] = command
    return latest


def _same(shown: str, wanted: str, kind: str) -> bool:
    if kind == "numbers" and shown and wanted:
        return Decimal(shown) == Decimal(wanted)
    return shown == wanted


def item_problems(stack: FlowStack, boards: Boards, commands: list[CreateMondayItem]) -> list[str]:
    """What differs between the boards and the newest command of each record: a record
    without an item, with two, or with a column that does not show its field."""
    problems = []
    latest = latest_by_record(commands)
    for entity, board in boards.ids.items():
        items = board_items(stack, board)
        by_record = Counter(i["values"].get("text_visma_id") for i in items)
        wanted = {v: c for v, c in latest.items() if c.board_id == board}
        problems += [f"{entity} {v}: {n} items" for v, n in by_record.items() if n != 1]
        problems += [f"{entity} {v}: no item" for v in wanted if v not in by_record]
        for item in items:
            command = wanted.get(item["values"].get("text_visma_id"))
            if command is None:
                problems.append(f"{entity}: item {item['id']} is no record's")
                continue
            for column, _, kind, field in columns_of(entity):
                shown = item["values"].get(column, "")
                expected = command.fields.get(field, "").strip()
                if not _same(shown, expected, kind):
                    problems.append(
                        f"{entity} {command.visma_id} {column}: {shown!r}, want {expected!r}"
                    )
    return problems
