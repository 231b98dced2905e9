"""`mlc rules preview RULES.yaml [--since 7d]`: what new rules would have sent, against history.

For the finance people who write rules: before a changed rules file goes live, run the
Visma events of the last days through it and see, per Slack channel, SMS number, email,
monday board ..., what it would have sent next to what the running rules did send (from the
audit trail), with every difference. Nothing is sent and nothing is written: the events are
read back from Kafka (`mlc.preview_history`), routed as the processor routes them without
a faust app or a producer (`mlc.preview_compare`), and printed. Errors are one line on
stderr: exit 2 for a bad rules file, --since or tenant, 1 when Kafka cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from chassis.kafka.outputs import serde_for
from chassis.kafka.state import StateLoadError
from chassis.settings import RegistrySettings
from mlc.preview_compare import Message, Preview, compare
from mlc.preview_history import History, read_history
from mlc.replay_times import ReplayUsageError, parse_time
from processor.config import ProcessorSettings
from processor.rules import RuleSet, RulesFileError, load_rules

PROG = "mlc rules preview"
DEFAULT_SINCE = "7d"

EXAMPLES = """\
examples:
  mlc rules preview new-rules.yaml                       the last 7 days, every tenant
  mlc rules preview new-rules.yaml --since 2d --details  the last 2 days, each differing message
  mlc rules preview new-rules.yaml --since 2026-11-30T08:00Z --tenant tenant-se-1 --json

  TARGET                WOULD SEND   SENT  CHANGE
  #ap-approvals                 20     20       0
  #ap-large                      5      8      -3
  SMS +46701110001               2      4      -2
  differences: -3 to #ap-large, -2 SMS to +46701110001

The events of the window (--since: a duration 30m, 12h, 7d, 2w back from now, or an ISO time,
UTC unless it names its offset) are read from the processor's Visma topics up to their end as
the preview starts, enriched from its reference topics, and routed through RULES.yaml as the
processor would (scheduled reminders and daily digests are not previewed). What the running
rules did send comes from the audit trail: the processor's routings of those events that a
sink reported sent. A message is paired by event and target, so a reworded template is no
difference. Topics: KAFKA_BOOTSTRAP_SERVERS and the processor's MLC_PROCESSOR_TOPIC_PREFIX
and MLC_PROCESSOR_AUDIT_TOPIC (or --topic-prefix).
"""


class PreviewInputError(Exception):
    """What the operator asked for cannot be previewed: the message says why, in one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the Visma events of a past window through a rules file, send nothing, and show\n"
        "per target what it would have sent next to what the running rules did send."
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("file", type=Path, metavar="RULES.yaml", help="the new rules file")
    parser.add_argument(
        "--since", default=DEFAULT_SINCE, metavar="TIME",
        help=f"start of the window: a duration back or an ISO time (default {DEFAULT_SINCE})",
    )  # fmt: skip
    parser.add_argument("--tenant", metavar="TENANT", help="only this tenant's events")
    parser.add_argument(
        "--topic-prefix", metavar="PREFIX",
        help="the processor's topic prefix (default MLC_PROCESSOR_TOPIC_PREFIX)",
    )  # fmt: skip
    parser.add_argument("--details", action="store_true", help="list every differing message")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace, *, out: TextIO | None = None, now: datetime | None = None) -> int:
    out = out or sys.stdout
    try:
        rules = load_rules(args.file)
        since = parse_since(args.since, now=now or datetime.now(UTC))
        settings = _settings(args.topic_prefix)
    except (RulesFileError, PreviewInputError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    try:
        history = read_history(
            settings, since_ms=int(since.timestamp() * 1000), serde=serde_for(RegistrySettings())
        )
    except StateLoadError as exc:
        print(f"{PROG}: cannot read Kafka at {settings.kafka.bootstrap_servers}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        preview = preview_of(history, rules, tenant=args.tenant, since=since)
    except PreviewInputError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(as_json(preview, rules_file=args.file, since=since), indent=2), file=out)
    else:
        print(render(preview, rules_file=args.file, since=since, details=args.details), file=out)
    return 0


def preview_of(history: History, rules: RuleSet, *, tenant: str | None, since: datetime) -> Preview:
    """The comparison, after checking that the tenant asked for has events in the window."""
    if tenant is not None:
        tenants = sorted({event.tenant_id for event in history.events})
        if tenant not in tenants:
            seen = ", ".join(tenants) if tenants else "none"
            raise PreviewInputError(
                f"unknown tenant {tenant!r}: no Visma event of it since {_when(since)} "
                f"(tenants in the window: {seen})"
            )
    return compare(history, rules, tenant=tenant)


def parse_since(text: str, *, now: datetime) -> datetime:
    """`7d`, `12h`, `30m`, `90s`, `2w` back from `now`, or an ISO time (UTC unless it says
    otherwise); never in the future. Read as `mlc replay` and `mlc dlq` read their times."""
    try:
        return parse_time(text, now=now, option="--since")
    except ReplayUsageError as exc:
        raise PreviewInputError(str(exc)) from None


def _settings(prefix: str | None) -> ProcessorSettings:
    try:
        settings = ProcessorSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PreviewInputError(f"MLC_PROCESSOR_ settings: {where}: {first['msg']}") from exc
    return settings if prefix is None else settings.model_copy(update={"topic_prefix": prefix})


def render(preview: Preview, *, rules_file: Path, since: datetime, details: bool) -> str:
    skipped = f" ({preview.not_judged} already processed, left out)" if preview.not_judged else ""
    lines = [
        f"preview of {rules_file} on the Visma events since {_when(since)}: "
        f"{preview.events} judged{skipped}"
    ]
    width = max([len("TARGET"), *(len(str(t.target)) for t in preview.targets)])
    lines.append(f"{'TARGET':{width}}  {'WOULD SEND':>10} {'SENT':>6} {'CHANGE':>7}")
    for t in preview.targets:
        change = f"{t.would - t.sent:+d}" if t.would != t.sent else "0"
        lines.append(f"{t.target!s:{width}}  {t.would:10} {t.sent:6} {change:>7}")
    if not preview.targets:
        lines.append("(no message either way)")
    differences = preview.differences()
    lines.append(
        "differences: " + ", ".join(differences)
        if differences
        else "no differences: the new rules send what the running rules sent"
    )
    if details:
        lines += [_detail("-", m) for m in preview.removed]
        lines += [_detail("+", m) for m in preview.added]
    if preview.routed_unsent:
        lines.append(
            f"note: {preview.routed_unsent} command(s) the running rules routed have no sent "
            "record (failed, held or still queued) and are not counted as sent"
        )
    if preview.unreadable:
        lines.append(f"note: {preview.unreadable} record(s) of the window are not readable events")
    lines.append("nothing was sent and nothing was written")
    return "\n".join(lines)


def _detail(sign: str, m: Message) -> str:
    verb = "sent, would not be" if sign == "-" else "would be sent, was not"
    return f"  {sign} {m.target}  {m.entity}  rule {m.rule}: {verb}  {m.text}".rstrip()


def as_json(preview: Preview, *, rules_file: Path, since: datetime) -> dict[str, Any]:
    return {
        "rules": str(rules_file),
        "since": since.isoformat(),
        "events_judged": preview.events,
        "events_not_judged": preview.not_judged,
        "unreadable_records": preview.unreadable,
        "routed_not_sent": preview.routed_unsent,
        "targets": [
            {
                "kind": t.target.kind,
                "target": t.target.destination,
                "would_send": t.would,
                "sent": t.sent,
                "added": t.added,
                "removed": t.removed,
            }
            for t in preview.targets
        ],
        "differences": preview.differences(),
        "messages": [
            {
                "change": sign,
                "kind": m.target.kind,
                "target": m.target.destination,
                "event_id": m.event_id,
                "entity": m.entity,
                "rule": m.rule,
                "text": m.text,
            }
            for sign, group in (("-", preview.removed), ("+", preview.added))
            for m in group
        ],
    }


def _when(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
