"""The processor with the full rules language, on the real broker (issue 4's measures).

- 10,000 mixed events of every Visma entity through 50 rules give exactly the commands the
  rules call for, on every sink's topic, each once.
- An invalid rules file is rejected with its line and field, the running rules stay.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from chassis.serde import AvroSerde, SchemaCatalog
from chassis.topics import ensure_topics
from events import PostSlackMessage
from events.command_topics import COMMAND_TOPICS
from events.visma import VismaEntityChanged
from processor.config import ProcessorSettings
from processor.routing import route_all
from processor.rules import parse_rules
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from visma_client.entities import VISMA_ENTITIES
from visma_poller.mapping import entity_event

pytestmark = pytest.mark.integration
SERDE = AvroSerde(SchemaCatalog.load())
CHANNELS = [f"ap-{n:02d}" for n in range(10)]


@dataclass
class Run:
    settings: ProcessorSettings
    rules_path: Path
    log_path: Path
    kafka: str

    def start(self) -> subprocess.Popen[bytes]:
        env = os.environ | {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "MLC_PROCESSOR_APP_ID": self.settings.app_id,
            "MLC_PROCESSOR_TOPIC_PREFIX": self.settings.topic_prefix,
            "MLC_PROCESSOR_ENRICHMENT_WAIT_SECONDS": "0",
            "MLC_PROCESSOR_RULES_CHECK_SECONDS": "0.5",
        }
        return subprocess.Popen(
            [sys.executable, "-m", "processor", "--rules", str(self.rules_path)],
            env=env, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def produce(self, events: list[VismaEntityChanged]) -> None:
        producer = Producer({"bootstrap.servers": self.kafka, "enable.idempotence": True})
        topics = dict(zip(VISMA_ENTITIES, [None] * len(VISMA_ENTITIES), strict=True))
        for event in events:
            topic = self.settings.topic_prefix + _topic(event.entity_type)
            topics[event.entity_type] = topic
            producer.produce(topic, key=event.key.encode(),
                             value=SERDE.encode(event.SCHEMA, event.to_record()))  # fmt: skip
            producer.poll(0)
        assert producer.flush(60) == 0

    def commands(self, want: int, timeout: float = 180) -> list[tuple[str, str]]:
        """(topic, command id) of every command on every command topic, until `want`."""
        consumer = Consumer({"bootstrap.servers": self.kafka, "group.id": uuid.uuid4().hex,
                             "auto.offset.reset": "earliest"})  # fmt: skip
        consumer.subscribe([self.settings.command_topic(kind) for kind in COMMAND_TOPICS])
        found: list[tuple[str, str]] = []
        deadline = time.monotonic() + timeout
        try:
            while len(found) < want:
                assert time.monotonic() < deadline, f"{len(found)} of {want} commands"
                message = consumer.poll(0.5)
                if message is not None and not message.error():
                    record = SERDE.decode(message.value())[1]
                    found.append((message.topic(), record["command_id"]))
            end = time.monotonic() + 3  # anything extra would show up now
            while time.monotonic() < end:
                message = consumer.poll(0.5)
                if message is not None and not message.error():
                    found.append((message.topic(), SERDE.decode(message.value())[1]["command_id"]))
        finally:
            consumer.close()
        return found


def _topic(entity_type: str) -> str:
    from events.topics import visma_topic

    return visma_topic(entity_type).name


@pytest.fixture
def run(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Run]:
    run_id = uuid.uuid4().hex[:10]
    settings = ProcessorSettings(app_id=f"it-rules-{run_id}", topic_prefix=f"it.{run_id}.")
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), settings.topic_specs())
    r = Run(settings, tmp_path / "rules.yaml", tmp_path / "processor.log", kafka_bootstrap)
    procs: list[subprocess.Popen[bytes]] = []
    original = r.start

    def start() -> subprocess.Popen[bytes]:
        procs.append(original())
        return procs[-1]

    r.start = start  # type: ignore[method-assign]
    yield r
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def _sandbox_events(records: int) -> list[VismaEntityChanged]:
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


def _fifty_rules() -> str:
    entity_sets = [["supplierInvoice"], ["purchaseOrder"], ["expenseClaim"],
                   ["customerInvoice"], ["supplierPayment", "customerPayment"]]  # fmt: skip
    rules = []
    for n in range(50):
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


def test_ten_thousand_mixed_events_through_fifty_rules_give_exactly_the_commands(run: Run) -> None:
    base = _sandbox_events(records=16)
    events = []
    for version in range(-(-10_000 // len(base))):  # later versions of every record
        for event in base:
            modified = event.last_modified + timedelta(seconds=version)
            millis = int(modified.timestamp() * 1000)
            events.append(event.model_copy(update={
                "last_modified": modified, "observed_at": modified,
                "event_id": f"{event.key}@{millis}"}))  # fmt: skip
    events = events[:10_000]
    run.rules_path.write_text(_fifty_rules())
    rules = parse_rules(run.rules_path.read_text())
    expected = Counter(c.command_id for e in events for c in route_all(e, rules))
    kinds = Counter(type(c).__name__ for e in events for c in route_all(e, rules))
    assert len({e.entity_type for e in events}) == len(VISMA_ENTITIES)
    assert len(kinds) >= 4, kinds
    run.produce(events)
    started = time.monotonic()
    run.start()
    found = run.commands(sum(expected.values()))
    elapsed = time.monotonic() - started
    print(f"\n10,000 events, 50 rules: {sum(expected.values())} commands ({dict(kinds)}) "
          f"in {elapsed:.0f} s including start-up")  # fmt: skip
    assert Counter(command_id for _, command_id in found) == expected


def test_an_invalid_rules_file_is_rejected_and_the_running_rules_stay(run: Run) -> None:
    base = [e for e in _sandbox_events(records=3) if e.entity_type == "supplierInvoice"]
    good = "rules:\n  - name: all\n    slack: {channel: ap-00}\n    when: {}\n"
    run.rules_path.write_text(good)
    run.start()
    run.produce(base[:1])
    [(topic, _)] = run.commands(1)
    assert topic == run.settings.command_topic(PostSlackMessage)
    bad = good.replace("when: {}", "when:\n      min_amount: {SEK: lots}")
    run.rules_path.write_text(bad)
    deadline = time.monotonic() + 30
    while "rules file invalid" not in run.log_path.read_text():
        assert time.monotonic() < deadline, "the invalid file was not reported"
        time.sleep(0.2)
    report = next(line for line in run.log_path.read_text().splitlines()
                  if "rules file invalid" in line)  # fmt: skip
    assert "line 5" in report
    assert "min_amount.SEK" in report
    run.produce(base[1:2])  # still routed by the rules in force: no threshold
    assert len(run.commands(2)) == 2
    # A valid new file takes over without a restart.
    newer = good.replace("ap-00", "ap-01")
    run.rules_path.write_text(newer)
    deadline = time.monotonic() + 30
    while "rules reloaded" not in run.log_path.read_text():
        assert time.monotonic() < deadline, "the new rules were not loaded"
        time.sleep(0.2)
    run.produce(base[2:3])
    [wanted] = route_all(base[2], parse_rules(newer))
    assert wanted.channel == "ap-01"
    assert wanted.command_id in {command_id for _, command_id in run.commands(3)}
