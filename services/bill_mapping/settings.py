"""Deployment settings of the BILL mapping (`MLC_BILL_MAPPING_*`); the mapping itself is YAML."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BillMappingSettings(BaseSettings):
    """`MLC_BILL_MAPPING_*` variables; the broker is the chassis's `KAFKA_*` settings."""

    model_config = SettingsConfigDict(env_prefix="MLC_BILL_MAPPING_", extra="ignore")

    group_id: str = Field(default="mlc-bill-mapping", min_length=1)
    topic_prefix: str = Field(default="", description="prefixes every topic (test stacks)")
    transactional_id: str | None = Field(
        default=None,
        description="Kafka transactional.id of the decisions (default <group_id>-decisions): "
        "stable across restarts, so a restart fences a transaction its predecessor left open",
    )
