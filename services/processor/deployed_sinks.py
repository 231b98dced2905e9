"""Which sinks this deployment runs, so a rule that targets one that does not is reported.

A command for a sink nobody runs waits on its topic and nothing says so: no error, no message.
The processor still routes it (a sink deployed later finds its commands waiting), but tells
the operator at start, and `mlc rules test` tells the rules author. `MLC_DEPLOYED_SINKS` lists
the sinks by the rule target they serve; the default is what this release ships a service for.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from processor.rules_schema import KINDS, RuleSet

SHIPPED_SINKS = "slack,sms,email,visma_writer"
"""The targets with a sink service in this release (slack-sink, twilio-sink, visma-writer)."""


class DeployedSinks(BaseSettings):
    """`MLC_DEPLOYED_SINKS`: comma-separated rule target kinds (slack, sms, email, ...)."""

    model_config = SettingsConfigDict(env_prefix="MLC_", extra="ignore")

    deployed_sinks: str = Field(default=SHIPPED_SINKS, description=f"of {', '.join(KINDS)}")

    @field_validator("deployed_sinks")
    @classmethod
    def _known_kinds(cls, value: str) -> str:
        unknown = sorted(set(_split(value)) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown sink {', '.join(unknown)}; known: {', '.join(KINDS)}")
        return value

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(_split(self.deployed_sinks))

    def notes(self, rules: RuleSet) -> list[str]:
        """One line per rule and target kind that no deployed sink serves."""
        missing: dict[str, set[str]] = {}
        for rule in rules.rules:
            kinds = {"slack"} if rule.slack is not None else {t.kind for t in rule.targets}
            for kind in sorted(kinds - self.kinds):
                missing.setdefault(rule.name, set()).add(kind)
        deployed = ",".join(sorted(self.kinds)) or "none"
        return [
            f"rule {name!r} targets {', '.join(sorted(kinds))}, but no such sink is deployed "
            f"(MLC_DEPLOYED_SINKS={deployed}): its commands will wait on their topic"
            for name, kinds in missing.items()
        ]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
