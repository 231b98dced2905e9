"""Deployment settings from the environment (pydantic-settings).

Defaults run everything against the local broker on 127.0.0.1:19092, so `make demo` needs no
configuration; in Kubernetes the same names come from the pod's environment.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:19092"
    replication_factor: int = Field(default=1, ge=1)
    client_id_prefix: str = "mlc"

    def client_config(self, client: str) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": f"{self.client_id_prefix}-{client}",
        }


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    schema_registry_url: str | None = None


class ServiceSettings(BaseSettings):
    """What every service process has: its name, its log level and its health/metrics port."""

    model_config = SettingsConfigDict(env_prefix="MLC_", extra="ignore")

    log_level: str = "INFO"
    health_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    time_scale: float = Field(
        default=1.0,
        gt=0,
        description="simulated seconds per real second, for a sandbox whose clock runs fast",
    )
