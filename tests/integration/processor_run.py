"""A real `python -m processor` on its own fresh topics: start it, feed it, read its commands.

Shared by the processor's rules test and its SIGKILL test. Each run has its own app id
(consumer group and changelog) and topic prefix, so runs never see each other's records,
and its topics are deleted afterwards. Commands are read with isolation.level=read_committed:
what a sink would see.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from chassis.serde import AvroSerde, SchemaCatalog
from chassis.topics import ensure_topics
from events.command_topics import COMMAND_TOPICS
from events.topics import visma_topic
from events.visma import VismaEntityChanged
from processor.config import ProcessorSettings

SERDE = AvroSerde(SchemaCatalog.load())
Found = list[tuple[str, str]]
"""(topic, command id) of each command record read, in the order read."""


@dataclass
class Run:
    settings: ProcessorSettings
    rules_path: Path
    log_path: Path
    kafka: str
    env: dict[str, str] = field(default_factory=dict)
    """Extra MLC_PROCESSOR_* settings for the worker."""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> subprocess.Popen[bytes]:
        env = os.environ | {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "MLC_PROCESSOR_APP_ID": self.settings.app_id,
            "MLC_PROCESSOR_TOPIC_PREFIX": self.settings.topic_prefix,
            "MLC_PROCESSOR_ENRICHMENT_WAIT_SECONDS": "0",
            "MLC_PROCESSOR_RULES_CHECK_SECONDS": "0.5",
            **self.env,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "processor", "--rules", str(self.rules_path)],
            env=env, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def produce(self, events: list[VismaEntityChanged]) -> None:
        """Each event to its entity's topic (reference entities to their compacted topics)."""
        producer = Producer({"bootstrap.servers": self.kafka, "enable.idempotence": True})
        for event in events:
            topic = self.settings.topic_prefix + visma_topic(event.entity_type).name
            producer.produce(topic, key=event.key.encode(),
                             value=SERDE.encode(event.SCHEMA, event.to_record()))  # fmt: skip
            producer.poll(0)
        assert producer.flush(60) == 0

    def read_commands(
        self, done: Callable[[Found], bool], *, timeout: float = 180, settle: float = 3.0
    ) -> Found:
        """Every command on every command topic from the start, until `done(found)` holds;
        then `settle` more seconds of reading, so that anything extra shows up too."""
        consumer = Consumer({"bootstrap.servers": self.kafka, "group.id": uuid.uuid4().hex,
                             "auto.offset.reset": "earliest",
                             "isolation.level": "read_committed"})  # fmt: skip
        consumer.subscribe(sorted({self.settings.command_topic(kind) for kind in COMMAND_TOPICS}))
        found: Found = []
        deadline = time.monotonic() + timeout
        try:
            while not done(found):
                assert time.monotonic() < deadline, f"{len(found)} commands, still waiting"
                _read(consumer, found)
            end = time.monotonic() + settle
            while time.monotonic() < end:
                _read(consumer, found)
        finally:
            consumer.close()
        return found

    def commands(self, want: int, timeout: float = 180) -> Found:
        """Every command read until there are `want` (and three seconds more)."""
        return self.read_commands(lambda found: len(found) >= want, timeout=timeout)

    def stop_all(self) -> None:
        for process in self.processes:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the worker's clean shutdown), SIGKILL if it is not gone in 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read(consumer: Consumer, found: Found) -> None:
    for message in consumer.consume(num_messages=1000, timeout=0.5):
        if message.error() is None:
            found.append((message.topic(), SERDE.decode(message.value())[1]["command_id"]))


@contextmanager
def processor_run(kafka: str, workdir: Path, *, name: str) -> Iterator[Run]:
    """A Run on fresh topics under `workdir`; every worker it started is stopped at the end."""
    run_id = uuid.uuid4().hex[:10]
    settings = ProcessorSettings(app_id=f"it-{name}-{run_id}", topic_prefix=f"it.{run_id}.")
    ensure_topics(AdminClient({"bootstrap.servers": kafka}), settings.topic_specs())
    run = Run(settings, workdir / "rules.yaml", workdir / "processor.log", kafka)
    try:
        yield run
    finally:
        run.stop_all()
        _delete_topics_of(kafka, run_id)


def _delete_topics_of(kafka: str, run_id: str) -> None:
    """Every topic of the run (its own, and faust's changelog and assignor topics): a run
    leaves about 150 partitions, and the shared broker slows down under thousands."""
    admin = AdminClient({"bootstrap.servers": kafka})
    names = [name for name in admin.list_topics(timeout=10).topics if run_id in name]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result()
