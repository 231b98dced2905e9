"""Deployment settings of the processor, from the environment.

Topic names are settings (not constants baked into the agent) so an integration test can run
a real worker on its own fresh topics and consumer group without touching the shared ones.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.audit import AUDIT_TOPIC
from chassis.topics import TopicSpec, dead_letter_topic
from events.topics import SINK_SLACK, VISMA_SUPPLIER_INVOICES


class ProcessorSettings(BaseSettings):
    """`MLC_PROCESSOR_*` variables; the broker comes from `KAFKA_BOOTSTRAP_SERVERS`."""

    model_config = SettingsConfigDict(env_prefix="MLC_PROCESSOR_", extra="ignore")

    bootstrap_servers: str = Field(
        default="127.0.0.1:19092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    app_id: str = Field(default="mlc-processor", min_length=1)
    input_topic: str = VISMA_SUPPLIER_INVOICES.name
    input_partitions: int = Field(default=VISMA_SUPPLIER_INVOICES.partitions, ge=1)
    output_topic: str = SINK_SLACK.name
    output_partitions: int = Field(default=SINK_SLACK.partitions, ge=1)
    audit_topic: str = AUDIT_TOPIC.name
    dlq_topic: str | None = Field(default=None, description="default dlq.<app_id>.v1")
    replication_factor: int = Field(default=1, ge=1)
    session_timeout_s: float = Field(
        default=10.0, ge=6.0, description="how soon a crashed worker's partitions move on"
    )
    web_enabled: bool = False
    web_port: int = Field(default=6066, ge=0, le=65535)

    def topic_specs(self) -> list[TopicSpec]:
        """Every topic the processor reads or writes, as declared (faust makes its own)."""
        return [
            TopicSpec(self.input_topic, self.input_partitions),
            TopicSpec(self.output_topic, self.output_partitions),
            TopicSpec(self.audit_topic, AUDIT_TOPIC.partitions, AUDIT_TOPIC.retention_ms),
            self.dlq_spec(),
        ]

    def dlq_spec(self) -> TopicSpec:
        default = dead_letter_topic(self.app_id)
        if self.dlq_topic is None:
            return default
        return TopicSpec(self.dlq_topic, default.partitions, default.retention_ms)
