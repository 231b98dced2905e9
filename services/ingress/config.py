"""Ingress settings from the environment (`MLC_INGRESS_*`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngressSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_INGRESS_", extra="ignore")

    host: str = "0.0.0.0"  # noqa: S104 - a pod listens on all its interfaces
    port: int = Field(default=8080, ge=0, le=65535)
    visma_webhook_secret: SecretStr | None = Field(
        default=None, description="the signature key Visma showed once when subscribing"
    )
    visma_signature_header: str = Field(
        default="X-Visma-Signature", description="the header name is not publicly confirmed"
    )
    ack_timeout_seconds: float = Field(
        default=2.5, gt=0, description="longest wait for Kafka before answering 503"
    )
    visma_topic: str = "visma.notification.v1"
