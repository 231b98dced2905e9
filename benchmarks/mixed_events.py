"""The workload of the processor's measures: mixed Visma events of every entity and 50 rules.

One definition serves the integration test that asserts the exact commands, the SIGKILL
test and `make bench`, so the figure the bench prints is for the same work the tests check.
Events come from the sandbox's seeded Nordic companies (every entity, realistic values),
repeated as later versions of the same records until the count is reached; reference
entities (suppliers, employees, ...) go to their compacted topics and feed enrichment.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import yaml

from events.visma import VismaEntityChanged
from events.visma_entities import REFERENCE_ENTITIES
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from visma_client.entities import VISMA_ENTITIES
from visma_poller.mapping import entity_event

CHANNELS = [f"ap-{n:02d}" for n in range(10)]
RULE_COUNT = 50


def sandbox_events(records: int) -> list[VismaEntityChanged]:
    """Realistic events of every entity, from the sandbox's seeded Nordic companies."""

    async def fetch() -> dict[str, list[dict[str, object]]]:
        counts = {"records_per_company": records, "invoices_per_company": records}
        app = create_app(SandboxConfig.model_validate({"visma": counts}))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://sandbox") as client:  # fmt: skip
            return {e: (await client.get(f"/visma/_sandbox/entities/{e}")).json()
                    for e in VISMA_ENTITIES}  # fmt: skip

    events = []
    for entity, rows in asyncio.run(fetch()).items():
        spec = VISMA_ENTITIES[entity]
        for raw in rows:
            company = str(raw["company"])
            dto = spec.model.model_validate(raw)
            events.append(entity_event(entity, dto, tenant_id=company, company_id=company,
                                       observed_at=dto.last_modified_date_time))  # fmt: skip
    return events


def mixed_events(count: int, *, records: int = 16) -> list[VismaEntityChanged]:
    """`count` events of every entity: each sandbox record again and again, one second newer
    each time, so every event is a new version the processor must route (none is a dupe)."""
    return _versions(sandbox_events(records), count)


def routed_and_reference(
    count: int, *, records: int = 16
) -> tuple[list[VismaEntityChanged], list[VismaEntityChanged]]:
    """`count` events the processor routes (every entity but the reference ones), and one
    version of every reference record (suppliers, employees, ...) for its enrichment."""
    base = sandbox_events(records)
    routed = [e for e in base if e.entity_type not in REFERENCE_ENTITIES]
    reference = [e for e in base if e.entity_type in REFERENCE_ENTITIES]
    return _versions(routed, count), reference


def _versions(base: list[VismaEntityChanged], count: int) -> list[VismaEntityChanged]:
    events: list[VismaEntityChanged] = []
    for version in range(-(-count // len(base))):
        for event in base:
            modified = event.last_modified + timedelta(seconds=version)
            millis = int(modified.timestamp() * 1000)
            events.append(event.model_copy(update={
                "last_modified": modified, "observed_at": modified,
                "event_id": f"{event.key}@{millis}"}))  # fmt: skip
    return events[:count]


def fifty_rules() -> str:
    """50 rules over five entity groups: thresholds per currency and in a base currency,
    due dates, approval status, and Slack, SMS, email and Monday targets."""
    entity_sets = [["supplierInvoice"], ["purchaseOrder"], ["expenseClaim"],
                   ["customerInvoice"], ["supplierPayment", "customerPayment"]]  # fmt: skip
    rules = []
    for n in range(RULE_COUNT):
        when: dict[str, object] = {"entity_type": entity_sets[n % len(entity_sets)]}
        if n % 3 == 0:
            when["min_amount"] = {"SEK": 1000 * (n + 1), "NOK": 1000 * (n + 1),
                                  "DKK": 800 * (n + 1), "EUR": 100 * (n + 1)}  # fmt: skip
        if n % 7 == 1 and "min_amount" not in when:
            rates = {"EUR": "11.25", "NOK": "0.98", "DKK": "1.52"}
            when["amount_in_base"] = {"base_currency": "SEK", "min": 20000, "rates": rates}
        if n % 5 == 2:
            when["due"] = {"within_days": 30}
        if n % 11 == 4:
            when["approval_status"] = ["Pending", "Open"]
        targets: list[dict[str, object]] = [{"slack": {"channel": CHANNELS[n % len(CHANNELS)]}}]
        if n % 4 == 0:
            targets.append({"sms": {"to": ["+46701234567"]}})
        if n % 6 == 0:
            targets.append({"email": {"to": ["ap@example.test"], "subject": "{{ reference }}"}})
        if n % 9 == 0:
            targets.append({"monday": {"board": 4242}})
        rules.append({"name": f"rule-{n:02d}", "when": when, "targets": targets})
    return yaml.safe_dump({"rules": rules})
