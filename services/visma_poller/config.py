"""What the poller polls: an accounting firm's Visma companies and each one's schedule (YAML).

The companies file and how to reach each company are shared with the writer
(`visma_client.companies`); this module adds what only the poller reads: the page size and
each entity's cadence and priority. Cadences read like `5m`, `1h`, `90s`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from visma_client.companies import (
    CompaniesFile,
    CompaniesFileError,
    CompanyAccess,
    load_companies_file,
)

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


ConfigError = CompaniesFileError
"""The poller configuration is unusable; the message says which file, flag or field."""


class EntitySchedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Seconds
    priority: int = Field(default=100, ge=0, description="lower polls first when short")
    enabled: bool = True


class CompanyConfig(CompanyAccess):
    """One company: how to reach it (shared with the writer) and what to poll how often."""

    model_config = ConfigDict(extra="forbid")

    page_size: int = Field(default=100, ge=1, le=1000)
    poll_interval_seconds: Seconds | None = Field(
        default=None, description="one cadence for every entity (overrides the defaults)"
    )
    entities: dict[str, EntitySchedule] = Field(default_factory=dict)

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


class PollerConfig(CompaniesFile[CompanyConfig]):
    model_config = ConfigDict(extra="forbid")

    overlap_seconds: float = Field(default=120.0, ge=0)
    webhook_reserve: float = Field(
        default=0.1, ge=0, lt=1, description="share of each budget kept for webhook pulls"
    )


def load_config(path: Path) -> PollerConfig:
    return load_companies_file(path, PollerConfig)
