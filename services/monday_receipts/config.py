"""What the monday receipts service is told: deployment settings and the receipts file.

Settings (`MLC_MONDAY_RECEIPTS_*`) say where things are; the YAML file says, per tenant,
which boards carry receipts: the board, its Visma company, the status column (by title,
case- and whitespace-insensitive, as people name columns `'Receipt '`) and the label that
means "goods received", and the column holding the item's Visma ID (for the
reconciliation, which reads items from monday). Mistakes are reported with file, line and
field; board ids stay text however they are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.errors import PermanentError
from chassis.yaml_source import YamlSourceError, load_model

DEFAULT_API_BASE = "https://api.monday.com"


def same_title(left: str | None, right: str | None) -> bool:
    """Column titles and labels as people type them: case and spacing do not matter."""
    if left is None or right is None:
        return False
    return " ".join(left.split()).casefold() == " ".join(right.split()).casefold()


class ReceiptsSettings(BaseSettings):
    """`MLC_MONDAY_RECEIPTS_*` variables; the broker is the chassis's `KAFKA_*` settings."""

    model_config = SettingsConfigDict(env_prefix="MLC_MONDAY_RECEIPTS_", extra="ignore")

    group_id: str = Field(default="mlc-monday-receipts", min_length=1)
    topic_prefix: str = Field(default="", description="prefixes every topic (test stacks)")
    link_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        description="how long a change waits for its item's link (monday.item.v1) to be read",
    )
    reconcile_every_seconds: float = Field(
        default=300.0,
        gt=0,
        description="how often each board's recently updated items are read from monday; "
        "well inside monday's 30 minutes of webhook retries is not needed: it catches what "
        "they never delivered",
    )
    reconcile_overlap_seconds: float = Field(
        default=120.0,
        ge=0,
        description="each reconciliation reads from this long before the last one started "
        "(clock skew between monday and the connector, late-visible updates)",
    )
    api_base: str = Field(
        default=DEFAULT_API_BASE, description="monday's API base; GraphQL is POST <base>/v2"
    )
    api_version: str = Field(default="2025-07", pattern=r"^\d{4}-(01|04|07|10)$")
    token: SecretStr | None = Field(
        default=None, description="development only: the monday API token (production: vault)"
    )
    token_credential: str | None = Field(
        default=None, min_length=1, description="vault name of the monday API token"
    )
    transactional_id: str | None = Field(
        default=None,
        description="Kafka transactional.id of the reconciliation (default <group_id>-reconcile): "
        "stable across restarts, so a restart fences a transaction its predecessor left open",
    )


class ReceiptBoard(BaseModel):
    """One board whose status column reports receipts of one Visma company's orders."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    board: str = Field(min_length=1, pattern=r"^\d+$", description="monday board id")
    company: str = Field(min_length=1, description="the Visma company of its orders")
    receipt_column: str = Field(default="Receipt", min_length=1)
    """The status column's title (or id)."""
    received_label: str = Field(default="Received", min_length=1)
    visma_id_column: str = Field(default="Visma ID", min_length=1)
    """The title (or id) of the column holding the item's Visma ID."""

    def is_receipt_column(self, *, column_id: str, column_title: str | None) -> bool:
        return column_id == self.receipt_column or same_title(column_title, self.receipt_column)

    def means_received(self, label: str | None) -> bool:
        return same_title(label, self.received_label)


class TenantReceipts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    boards: list[ReceiptBoard] = Field(min_length=1)


class ReceiptsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: dict[str, TenantReceipts] = Field(min_length=1)


@dataclass(frozen=True)
class TenantBoard:
    tenant_id: str
    board: ReceiptBoard


class ReceiptsConfig:
    """The receipts file, indexed by (tenant, board)."""

    def __init__(self, file: ReceiptsFile) -> None:
        self.boards: dict[tuple[str, str], ReceiptBoard] = {}
        for tenant, receipts in file.tenants.items():
            for board in receipts.boards:
                if (tenant, board.board) in self.boards:
                    raise ReceiptsConfigError(f"tenants.{tenant}: board {board.board} twice")
                self.boards[(tenant, board.board)] = board

    def board(self, tenant_id: str, board_id: str) -> ReceiptBoard | None:
        return self.boards.get((tenant_id, board_id))

    def all(self) -> list[TenantBoard]:
        return [TenantBoard(tenant, board) for (tenant, _), board in self.boards.items()]


class ReceiptsConfigError(PermanentError):
    """The receipts file cannot be used; the message names the file and the field."""


def load_config(path: Path) -> ReceiptsConfig:
    """The receipts file; a mistake names the file, the line and the field."""
    try:
        return ReceiptsConfig(load_model(path, ReceiptsFile, expected="a mapping with 'tenants'"))
    except YamlSourceError as exc:
        raise ReceiptsConfigError(str(exc)) from exc
    except ReceiptsConfigError as exc:
        raise ReceiptsConfigError(f"{path}: {exc}") from exc
