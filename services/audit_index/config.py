"""What the audit indexer is told: `MLC_AUDIT_INDEX_*` settings (no configuration file).

`MLC_AUDIT_INDEX_PATH` is read by `mlc audit` as well: set in the indexer's pod, the command
run there (`kubectl exec`) answers from the same file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit_index.index_file import PATH_VARIABLE

__all__ = ["PATH_VARIABLE", "AuditIndexSettings"]


class AuditIndexSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_AUDIT_INDEX_", extra="ignore")

    path: Path = Field(
        default=Path("/var/lib/mlc/audit-index.sqlite3"), description="the SQLite index file"
    )
    group_id: str = Field(default="mlc-audit-index", min_length=1)
    topic_prefix: str = Field(default="", description="prefixes the audit topic (test stacks)")
    batch_records: int = Field(
        default=1000, ge=1, description="records written in one SQLite transaction at most"
    )
    batch_wait_seconds: float = Field(
        default=0.2,
        gt=0,
        description="how long a batch waits for more records before it is written",
    )
