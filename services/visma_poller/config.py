"""What the poller polls: Visma endpoints and the companies of each tenant (YAML).

Secrets are never in this file: each company names the environment variable that holds its
client secret (the encrypted credential store replaces this in a later release).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from visma_client.config import DEFAULT_API_BASE, DEFAULT_TOKEN_URL


class ConfigError(Exception):
    """The poller configuration is unusable; the message says which file and field."""


class CompanyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(min_length=1)
    company_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret_env: str = Field(min_length=1, description="variable holding the secret")
    poll_interval_seconds: float = Field(default=60.0, gt=0)
    hourly_budget: int = Field(default=500, ge=1, description="API calls per hour")
    page_size: int = Field(default=100, ge=1, le=1000)

    def client_secret(self) -> SecretStr:
        value = os.environ.get(self.client_secret_env)
        if not value:
            raise ConfigError(
                f"company {self.company_id}: environment variable {self.client_secret_env} "
                "(its Visma client secret) is not set"
            )
        return SecretStr(value)


class PollerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token_url: str = DEFAULT_TOKEN_URL
    api_base: str = DEFAULT_API_BASE
    overlap_seconds: float = Field(default=120.0, ge=0)
    send_company_header: bool = True
    companies: list[CompanyConfig] = Field(min_length=1)


def load_config(path: Path) -> PollerConfig:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return PollerConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
