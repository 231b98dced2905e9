"""Deployment settings of the processor, from the environment.

Topic names are settings (not constants baked into the agent) so an integration test can run
a real worker on its own fresh topics and consumer group without touching the shared ones.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.audit import AUDIT_TOPIC
from chassis.kafka.expiry import DEFAULT_HORIZON, Expiry, HorizonConfigError
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, dead_letter_topic
from events import PostSlackMessage
from events.command_topics import COMMAND_TOPICS
from events.topics import SINK_SLACK, VISMA_SUPPLIER_INVOICES, visma_topic
from events.visma_entities import REFERENCE_ENTITIES, VISMA_EVENTS


class ProcessorSettings(BaseSettings):
    """`MLC_PROCESSOR_*` variables; the broker, the replication factor of every topic (faust's
    changelogs included), TLS and SASL are the chassis's `KafkaSettings` (`KAFKA_*`)."""

    model_config = SettingsConfigDict(env_prefix="MLC_PROCESSOR_", extra="ignore")

    kafka: KafkaSettings = Field(
        default_factory=KafkaSettings,
        description="the broker, replication factor, TLS and SASL: the chassis's KAFKA_* settings",
    )
    app_id: str = Field(default="mlc-processor", min_length=1)
    topic_prefix: str = Field(default="", description="prefixes every fact and command topic")
    input_topic: str | None = Field(
        default=None, description="read only this topic (default: every Visma entity topic)"
    )
    input_partitions: int = Field(default=VISMA_SUPPLIER_INVOICES.partitions, ge=1)
    output_topic: str | None = Field(
        default=None, description="the Slack commands topic (default sink.slack.v1)"
    )
    output_partitions: int = Field(default=SINK_SLACK.partitions, ge=1)
    enrichment_wait_seconds: float = Field(
        default=2.0, ge=0, description="longest wait for reference data not yet arrived"
    )
    rules_check_seconds: float = Field(default=2.0, gt=0, description="rules file reload check")
    schedule_check_seconds: float = Field(
        default=30.0, gt=0, description="how often due reminders and digests are looked for"
    )
    audit_topic: str = AUDIT_TOPIC.name
    dlq_topic: str | None = Field(default=None, description="default dlq.<app_id>.v1")
    session_timeout_s: float = Field(
        default=10.0, ge=6.0, description="how soon a crashed worker's partitions move on"
    )
    transactional_id: str | None = Field(
        default=None,
        description="Kafka transactional.id of this worker (default <app_id>-<hostname>): "
        "stable across restarts of one worker, so a restart fences the transaction its "
        "predecessor left open, and distinct between workers running at once, which would "
        "otherwise fence each other. On Kubernetes: a StatefulSet, and the pod name (its "
        "hostname, with the ordinal) as the default does.",
    )
    data_dir: Path | None = Field(
        default=None,
        description="faust's data directory (default: <app_id>-data in the working directory)",
    )
    marker_horizon_days: float = Field(
        default=DEFAULT_HORIZON / timedelta(days=1),
        description="forget an entity's processed-marker this long after it was written; an "
        "input event written longer ago than this without a marker is skipped, not routed. "
        "Must exceed the input topics' retention",
    )
    web_enabled: bool = False
    web_port: int = Field(default=6066, ge=0, le=65535)

    @model_validator(mode="after")
    def _horizon_covers_the_inputs(self) -> Self:
        """Refuses a marker horizon that an input topic's retention reaches past."""
        try:
            expiry = self.marker_expiry()
            for name in self.input_topics():
                expiry.check_covers(TopicSpec(name, self.input_partitions))
        except HorizonConfigError as exc:
            raise ValueError(str(exc)) from exc
        return self

    def marker_expiry(self) -> Expiry:
        return Expiry(timedelta(days=self.marker_horizon_days))

    def input_topics(self) -> list[str]:
        """Every Visma entity topic: reference data too (GL accounts and dimensions kept
        current on a Monday reference board), for the rules that name those entity types."""
        if self.input_topic:
            return [self.input_topic]
        return [self.topic_prefix + visma_topic(entity).name for entity in VISMA_EVENTS]

    def reference_topics(self) -> list[str]:
        return [self.topic_prefix + visma_topic(entity).name for entity in REFERENCE_ENTITIES]

    def digest_topic(self) -> str:
        """Where digest items travel, keyed by target, to the partition of their buckets."""
        return f"{self.topic_prefix}{self.app_id}-digest-items"

    def processed_topic(self) -> str:
        """Compacted: entity key -> last processed version, partition for input partition."""
        return f"{self.topic_prefix}{self.app_id}-processed"

    def worker_transactional_id(self) -> str:
        return self.transactional_id or f"{self.app_id}-{socket.gethostname()}"

    def command_topic(self, command_type: type) -> str:
        if command_type is PostSlackMessage and self.output_topic:
            return self.output_topic
        return self.topic_prefix + COMMAND_TOPICS[command_type].name

    def topic_specs(self) -> list[TopicSpec]:
        """Every topic the processor reads or writes, as declared (faust makes its own)."""
        references = [
            TopicSpec(name, self.input_partitions, compacted=True)
            for name in self.reference_topics()
        ]
        inputs = [
            TopicSpec(name, self.input_partitions)
            for name in self.input_topics()
            if name not in {spec.name for spec in references}  # declared once, compacted
        ]
        # Several kinds of command may share a sink's topic: each topic is declared once.
        commands = [
            TopicSpec(name, self.output_partitions)
            for name in dict.fromkeys(self.command_topic(kind) for kind in COMMAND_TOPICS)
        ]
        return [
            *inputs, *references, *commands,
            TopicSpec(self.digest_topic(), self.input_partitions),
            TopicSpec(self.processed_topic(), self.input_partitions, compacted=True),
            TopicSpec(self.audit_topic, AUDIT_TOPIC.partitions, AUDIT_TOPIC.retention_ms),
            self.dlq_spec(),
        ]  # fmt: skip

    def dlq_spec(self) -> TopicSpec:
        default = dead_letter_topic(self.app_id)
        if self.dlq_topic is None:
            return default
        return TopicSpec(self.dlq_topic, default.partitions, default.retention_ms)
