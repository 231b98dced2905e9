"""`mlc run audit-index`: keep the audit index (SQLite) up to date with `audit.v1`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from audit_index.config import AuditIndexSettings
from audit_index.index_file import AuditIndexFile, IndexUnavailable
from audit_index.inject import SERVICE, AuditIndexApp, build
from chassis.entrypoint import EXIT_BAD_CONFIGURATION, service_logging, with_options
from chassis.service import run_service
from chassis.settings import KafkaSettings

log = logging.getLogger(__name__)

EXAMPLE = """\
example:
  $ export MLC_AUDIT_INDEX_PATH=/var/lib/mlc/audit-index.sqlite3
  $ mlc run audit-index
  {"ts": "...", "level": "info", "service": "audit-index", "msg": "started", "index": "..."}
  $ mlc audit 1772352930.000100        # in another shell with the same MLC_AUDIT_INDEX_PATH
  $ mlc status --group mlc-audit-index # how far the index is behind audit.v1 (LAG)
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run audit-index",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLE,
        description="Read the audit trail (audit.v1) into an embedded SQLite index: every "
        "entity key, event id, command id and external id of each record, and the parts of "
        "keys an operator types (a Visma invoice number, a BILL or monday id). `mlc audit ID` "
        "answers from it in milliseconds. Offsets are committed only after the batch's SQLite "
        "transaction; a redelivered record changes nothing. Rebuild: stop it, delete the "
        "file and start it: a new file moves the group back to the start of audit.v1. "
        "Settings: MLC_AUDIT_INDEX_* (PATH, GROUP_ID, TOPIC_PREFIX, BATCH_RECORDS).",
    )
    p.add_argument("--path", type=Path, help="the index file (MLC_AUDIT_INDEX_PATH)")
    p.add_argument("--group-id", help="consumer group (default mlc-audit-index)")
    p.add_argument("--topic-prefix", help="prefix of the audit topic (test stacks)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = service_logging(SERVICE)
    settings = with_options(
        AuditIndexSettings(), path=args.path, group_id=args.group_id,
        topic_prefix=args.topic_prefix,
    )  # fmt: skip
    try:
        AuditIndexFile.for_writing(settings.path).close()
    except IndexUnavailable as exc:
        log.error("unusable audit index", extra={"error": str(exc)})
        return EXIT_BAD_CONFIGURATION

    def build_service() -> AuditIndexApp:
        return build(KafkaSettings(), settings, instance_id=service.group_instance_id)

    run_service(
        build_service, health_port=service.health_port, service=SERVICE, index=str(settings.path)
    )
    return 0
