"""Deployment settings of the Airbase payments (`MLC_AIRBASE_PAYMENTS_*`); the mapping is YAML."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AirbasePaymentsSettings(BaseSettings):
    """`MLC_AIRBASE_PAYMENTS_*` variables; the broker is the chassis's `KAFKA_*` settings."""

    model_config = SettingsConfigDict(env_prefix="MLC_AIRBASE_PAYMENTS_", extra="ignore")

    group_id: str = Field(default="mlc-airbase-payments", min_length=1)
    topic_prefix: str = Field(default="", description="prefixes every topic (test stacks)")
    transactional_id: str | None = Field(
        default=None,
        description="Kafka transactional.id of the decisions (default <group_id>-decisions): "
        "stable across restarts, so a restart fences a transaction its predecessor left open",
    )
