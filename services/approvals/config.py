"""What the approvals service is told: deployment settings and the approvals file.

Settings (`MLC_APPROVALS_*`) say where things are; the YAML file says, per tenant (and
optionally per company and Slack workspace), which reactions and reply words mean approve or
reject, who may approve (Visma employee numbers or email addresses) and which Visma action
each decision becomes for each entity type. Mistakes are reported with the file and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from approvals.provenance import FOREIGN_MARGIN_SECONDS
from events.approvals import Decision

CONFIRMATION_RULE = "approvals"
"""The rule name on every Visma action this service sends, which the Visma writer carries
on to the thread confirmation it posts once Visma has taken the action."""


LEDGER_BUDGET_SECONDS = 24 * 3600.0
"""How long, from its arrival, a gesture is retried while its message's ledger entry is missing."""


class ApprovalsSettings(BaseSettings):
    """`MLC_APPROVALS_*` variables; the broker comes from `KAFKA_BOOTSTRAP_SERVERS`."""

    model_config = SettingsConfigDict(env_prefix="MLC_APPROVALS_", extra="ignore")

    group_id: str = Field(default="mlc-approvals", min_length=1)
    topic_prefix: str = Field(default="", description="prefixes every topic (test stacks)")
    ledger_topic: str | None = Field(default=None, description="default state.slack-ledger.v2")
    match_wait_seconds: float = Field(
        default=5.0,
        ge=0,
        description="how long a gesture waits for the Slack sink's ledger entry of its message",
    )
    ledger_budget_seconds: float = Field(
        default=LEDGER_BUDGET_SECONDS,
        gt=0,
        description="how long, from its arrival, a gesture is retried while its message has "
        "no ledger entry; then it goes to the DLQ with the reason",
    )
    foreign_margin_seconds: float = Field(
        default=FOREIGN_MARGIN_SECONDS,
        gt=0,
        description="how long after a post its ledger entry may still arrive; a gesture on a "
        "message older than what the ledger view has read, less this, is on a message the "
        "connector never posted and is ignored at once",
    )
    employee_wait_seconds: float = Field(
        default=2.0, ge=0, description="how long to wait for an approver's employee record"
    )
    approver_cache_seconds: float = Field(
        default=600.0, gt=0, description="how long a Slack user id found by email is trusted"
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _names(values: list[str]) -> frozenset[str]:
    return frozenset(v.strip().strip(":").lower() for v in values if v.strip())


class Gestures(_Strict):
    """Which reactions and which first word of a thread reply mean a decision."""

    approve_reactions: list[str] = ["white_check_mark", "heavy_check_mark"]
    reject_reactions: list[str] = ["x", "no_entry_sign"]
    approve_keywords: list[str] = ["approve", "approved", "godkänn", "godkänd", "godkjent"]
    reject_keywords: list[str] = ["reject", "rejected", "avvisa", "avvist"]

    @field_validator("approve_reactions", "reject_reactions", "approve_keywords",
                     "reject_keywords")  # fmt: skip
    @classmethod
    def _not_blank(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("an empty name")
        return values

    def reaction(self, name: str) -> Decision | None:
        # Slack names a toned reaction `+1::skin-tone-2`; the tone does not change the meaning.
        base = name.split("::", 1)[0].lower()
        if base in _names(self.approve_reactions):
            return Decision.APPROVE
        if base in _names(self.reject_reactions):
            return Decision.REJECT
        return None

    def keyword(self, word: str) -> Decision | None:
        if word in _names(self.approve_keywords):
            return Decision.APPROVE
        if word in _names(self.reject_keywords):
            return Decision.REJECT
        return None


class ActionSpec(_Strict):
    """One Visma action (a writer action name such as `release`, or `note`) and its comment."""

    action: str = Field(min_length=1)
    comment: str = "{decision} in Slack by {approver}"
    """Placeholders: {decision}, {approver} (email or employee), {user} (Slack id)."""


DEFAULT_ACTIONS: dict[str, dict[Decision, ActionSpec]] = {
    "supplierInvoice": {
        Decision.APPROVE: ActionSpec(action="release", comment="Approved in Slack by {approver}"),
        Decision.REJECT: ActionSpec(action="note", comment="Rejected in Slack by {approver}"),
    }
}


class TenantApprovals(_Strict):
    tenant_id: str = Field(min_length=1)
    company_id: str | None = None
    """Only this company of the tenant (default: all)."""
    workspace: str | None = None
    """Only messages posted to this Slack workspace (the sink's workspace name; default: all)."""
    approvers: list[str] = Field(min_length=1)
    """Visma employee numbers, or email addresses (anything with an @)."""
    gestures: Gestures | None = None
    actions: dict[str, dict[Decision, ActionSpec]] | None = None


class ApprovalsFile(_Strict):
    gestures: Gestures = Gestures()
    actions: dict[str, dict[Decision, ActionSpec]] = DEFAULT_ACTIONS
    tenants: list[TenantApprovals] = Field(min_length=1)


@dataclass(frozen=True)
class Policy:
    """The approval rules in force for one posted message."""

    tenant_id: str
    approvers: tuple[str, ...]
    gestures: Gestures
    actions: dict[str, dict[Decision, ActionSpec]]

    def action_for(self, entity_type: str, decision: Decision) -> ActionSpec | None:
        return self.actions.get(entity_type, {}).get(decision)


class ApprovalsConfig:
    def __init__(self, file: ApprovalsFile) -> None:
        self._file = file
        self.all_gestures = [file.gestures, *(t.gestures for t in file.tenants if t.gestures)]
        """Every gesture set in use: anything outside all of them is not worth a lookup."""

    def policy_for(self, *, tenant_id: str, company_id: str, workspace: str) -> Policy | None:
        """The first tenant entry that matches; None when nobody approves there."""
        for entry in self._file.tenants:
            if entry.tenant_id != tenant_id:
                continue
            if entry.company_id is not None and entry.company_id != company_id:
                continue
            if entry.workspace is not None and entry.workspace != workspace:
                continue
            return Policy(
                tenant_id=tenant_id,
                approvers=tuple(entry.approvers),
                gestures=entry.gestures or self._file.gestures,
                actions=entry.actions if entry.actions is not None else self._file.actions,
            )
        return None

    def may_be_decision(self, *, reaction: str | None, word: str | None) -> bool:
        return any(
            (reaction is not None and g.reaction(reaction) is not None)
            or (word is not None and g.keyword(word) is not None)
            for g in self.all_gestures
        )


class ApprovalsConfigError(Exception):
    """The approvals file cannot be read or is invalid; the message names file and field."""


def load_config(path: Path) -> ApprovalsConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ApprovalsConfigError(f"{path}: {exc}") from exc
    try:
        return ApprovalsConfig(ApprovalsFile.model_validate(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ApprovalsConfigError(f"{path}: {problems}") from exc
