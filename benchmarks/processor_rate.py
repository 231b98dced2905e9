"""The real processor (faust worker, `python -m processor`) over the benchmark's input topic.

It runs the 50 rules of issue 4's measures (`benchmarks.mixed_events`) with enrichment: the
reference topics (suppliers, employees, ...) are filled before the worker starts, so each
event is enriched from data already there, as in steady production. Every input event leaves
at least one audit record with its event id (routed, or skipped when no rule matched), so
events per second is read off the audit topic, timed like the baseline by the output
records' own timestamps. The worker gets its own app id and topics, and a scratch working
directory for faust's data folder, so nothing it leaves behind touches the shared topics.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from benchmarks.broker import Collected, Progress, admin, collect, produce
from benchmarks.mixed_events import fifty_rules
from benchmarks.processes import Child
from benchmarks.workload import Encoded
from chassis.serde import AvroSerde
from chassis.topics import ensure_topics
from events.command_topics import COMMAND_TOPICS
from events.topics import visma_topic
from events.visma import VismaEntityChanged
from processor.config import ProcessorSettings


@dataclass(frozen=True)
class ProcessorResult:
    events: Collected
    """Audit records by event id: how many input events were handled, and when."""
    commands: int
    """Command records the worker wrote, over every sink's topic."""


def settings_for(run_id: str, *, source: str, target: str) -> ProcessorSettings:
    return ProcessorSettings(
        app_id=f"{run_id}-processor",
        topic_prefix=f"{run_id}.",
        input_topic=source,
        output_topic=target,
        audit_topic=f"{run_id}-audit",
        dlq_topic=f"{run_id}-dlq",
    )


def load_reference(
    bootstrap: str, settings: ProcessorSettings, records: list[VismaEntityChanged], serde: AvroSerde
) -> None:
    """Creates the processor's topics and fills its reference topics, before it starts."""
    ensure_topics(admin(bootstrap), settings.topic_specs())
    by_topic: dict[str, list[Encoded]] = defaultdict(list)
    for record in records:
        topic = settings.topic_prefix + visma_topic(record.entity_type).name
        by_topic[topic].append(
            Encoded(record.key.encode(), serde.encode(record.SCHEMA, record.to_record()))
        )
    for topic, encoded in by_topic.items():
        produce(bootstrap, topic, encoded)


def run_processor(
    bootstrap: str,
    *,
    settings: ProcessorSettings,
    expected: int,
    timeout: float,
    workdir: Path,
    serde: AvroSerde,
    progress: Progress,
    profile: Path | None = None,
) -> ProcessorResult:
    """Runs the worker until `expected` events are audited, then stops it (SIGTERM).

    With `profile`, the worker runs under cProfile and writes its statistics there on stop.
    """
    rules = workdir / "bench-rules.yaml"
    rules.write_text(fifty_rules(), encoding="utf-8")
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MLC_PROCESSOR_APP_ID": settings.app_id,
        "MLC_PROCESSOR_INPUT_TOPIC": settings.input_topic or "",
        "MLC_PROCESSOR_OUTPUT_TOPIC": settings.output_topic or "",
        "MLC_PROCESSOR_TOPIC_PREFIX": settings.topic_prefix,
        "MLC_PROCESSOR_AUDIT_TOPIC": settings.audit_topic,
        "MLC_PROCESSOR_DLQ_TOPIC": settings.dlq_spec().name,
    }
    args = ["--rules", str(rules), "--loglevel", "warning"]
    module = "processor"
    if profile is not None:
        module, args = "cProfile", ["-o", str(profile), "-m", "processor", *args]
    worker = Child(module, args, log_path=workdir / "processor.log", env=env, cwd=workdir)
    with worker:
        progress(f"processor started (pid {worker.process.pid}, log {worker.log_path})")

        def event_id(value: bytes) -> str:
            return str(serde.decode(value)[1]["event_id"])

        collected = collect(
            bootstrap,
            settings.audit_topic,
            expected=expected,
            timeout=timeout,
            identify=event_id,
            check=worker.check_alive,
            progress=lambda line: progress(f"processor: {line}"),
        )
        progress("every event audited; stopping the processor (SIGTERM)")
    topics = {settings.command_topic(kind) for kind in COMMAND_TOPICS}  # some kinds share one
    commands = sum(_records(bootstrap, topic) for topic in topics)
    return ProcessorResult(collected, commands)


def _records(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermarks"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        total = 0
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
            total += high - low
        return total
    finally:
        consumer.close()
