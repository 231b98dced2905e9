"""What the poller polls: an accounting firm's Visma companies and each one's schedule (YAML).

Secrets are never in this file: each company names its client secret in the encrypted
credential store (`credential:`); `client_secret_env` (an environment variable) remains for
local development. Cadences read like `5m`, `1h`, `90s`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from visma_client.config import DEFAULT_API_BASE, DEFAULT_TOKEN_URL

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(value: object) -> object:
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found is None:
            raise ValueError(f"{value!r} is not a duration like 30s, 5m, 1h")
        return float(found.group(1)) * _UNIT[found.group(2)]
    return value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]

# Sensible defaults: documents people act on often, reference data rarely.
DEFAULT_SCHEDULE: dict[str, tuple[float, int]] = {
    "supplierInvoice": (300, 10),
    "purchaseOrder": (300, 20),
    "expenseClaim": (600, 30),
    "purchaseReceipt": (600, 40),
    "supplierPayment": (600, 40),
    "customerPayment": (900, 50),
    "customerInvoice": (900, 50),
    "journalTransaction": (900, 60),
    "supplier": (1800, 70),
    "employee": (3600, 80),
    "customer": (3600, 80),
    "account": (3600, 90),
    "dimension": (3600, 90),
}


class ConfigError(Exception):
    """The poller configuration is unusable; the message says which file and field."""


class EntitySchedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Seconds
    priority: int = Field(default=100, ge=0, description="lower polls first when short")
    enabled: bool = True


class CompanyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(min_length=1)
    company_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    credential: str | None = Field(default=None, description="client secret's name in the store")
    client_secret_env: str | None = Field(default=None, description="development only")
    hourly_budget: int = Field(default=500, ge=1, description="API calls per hour")
    page_size: int = Field(default=100, ge=1, le=1000)
    poll_interval_seconds: Seconds | None = Field(
        default=None, description="one cadence for every entity (overrides the defaults)"
    )
    entities: dict[str, EntitySchedule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_secret_source(self) -> CompanyConfig:
        if (self.credential is None) == (self.client_secret_env is None):
            raise ValueError("give exactly one of credential (store) or client_secret_env")
        return self

    def env_secret(self) -> SecretStr:
        assert self.client_secret_env is not None
        value = os.environ.get(self.client_secret_env)
        if not value:
            raise ConfigError(
                f"company {self.company_id}: environment variable {self.client_secret_env} "
                "(its Visma client secret) is not set"
            )
        return SecretStr(value)

    def schedule(self, known: set[str]) -> dict[str, EntitySchedule]:
        """Every enabled entity with its cadence: defaults, then this company's overrides."""
        unknown = set(self.entities) - known
        if unknown:
            raise ConfigError(f"company {self.company_id}: unknown entities {sorted(unknown)}")
        result = {}
        for entity, (every, priority) in DEFAULT_SCHEDULE.items():
            if entity not in known:
                continue
            cadence = self.poll_interval_seconds or every
            result[entity] = self.entities.get(
                entity, EntitySchedule(every=cadence, priority=priority)
            )
        return {name: s for name, s in result.items() if s.enabled}


class PollerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token_url: str = DEFAULT_TOKEN_URL
    api_base: str = DEFAULT_API_BASE
    overlap_seconds: float = Field(default=120.0, ge=0)
    send_company_header: bool = True
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    webhook_reserve: float = Field(
        default=0.1, ge=0, lt=1, description="share of each budget kept for webhook pulls"
    )
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
