"""`mlc dlq list | show | redrive`: DLQ triage at 9 a.m., and a redrive into exactly one group.

`list` prints one line per dead letter (its id, when, class, attempts, where it came from,
the reason, and whether it was redriven); `show ID` one dead letter in full: the decoded
record, its headers and its audit chain (through `mlc audit`'s lookup); `redrive` puts
chosen dead letters back for their group (`mlc.dlq_redrive`). Errors are one line on stderr:
exit 2 for an unknown group, class, id or time, 1 for a broker that does not answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from confluent_kafka import KafkaException

from chassis.kafka.dlq import FailureClass
from chassis.kafka.producer import ProduceError
from chassis.kafka.state import StateLoadError
from chassis.serde import AvroSerde, SchemaCatalog, SerdeError
from chassis.settings import KafkaSettings
from mlc.dlq_reader import (
    DeadLetter,
    DeadLetterId,
    DlqQueryError,
    DlqReader,
    RedriveMark,
    parse_time,
    read_marks,
)
from mlc.dlq_redrive import RedriveRequest, operator, redrive

LIST_EXAMPLES = """\
examples:
  mlc dlq list                                     every group's dead letters
  mlc dlq list --group mlc-slack-sink --class auth  one group's refused credentials
  mlc dlq list --since 12h --json                  the last 12 hours, as JSON

ID is <group>:<partition>:<offset> of dlq.<group>.v1 (what `show` and `redrive --id` take);
CLASS is permanent, transient-exhausted, poison, auth, conflict (unknown: dead-lettered
before the class was recorded); --since takes an ISO time (UTC unless it says) or an age.
"""

SHOW_EXAMPLES = """\
examples:
  mlc dlq show mlc-slack-sink:0:17          the record, its reason and its audit chain
  mlc dlq show mlc-slack-sink:0:17 --json   the same as JSON (its "value" is a start for --edit)
"""

REDRIVE_EXAMPLES = """\
examples:
  mlc dlq redrive --group mlc-slack-sink --class auth      after fixing a Slack credential
  mlc dlq redrive --group mlc-twilio-sink --since 2026-12-03T06:00
  mlc dlq redrive --group mlc-slack-sink --id mlc-slack-sink:0:17 --id mlc-slack-sink:0:18
  mlc dlq redrive --group mlc-monday-sink --id mlc-monday-sink:0:4 --edit fixed.yaml

The records go to redrive.<group>.v1, which only that group's runner reads, and each is
marked redriven (state.dlq-redriven.v1) in the same transaction: a second redrive of the
same dead letter does nothing and says when and by whom it was redriven. --edit FILE (JSON
or YAML, one --id) replaces the value; it is encoded with the record's schema and refused
if it does not validate (a dead letter that cannot be decoded: name the value's schema with
--schema). Without --id, --class or --since: every dead letter of the group.
"""

_CLASSES = ", ".join(c.value for c in FailureClass if c is not FailureClass.UNKNOWN)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Dead letters: list them, show one, redrive them into the group that failed."
    dlq = p.add_subparsers(dest="dlq_command", required=True, metavar="COMMAND")
    listing = _sub(dlq, "list", "one line per dead letter, newest last", LIST_EXAMPLES)
    listing.add_argument("--group", help="only this group's dead letters (must have a DLQ)")
    listing.add_argument(
        "--class", dest="failure", metavar="CLASS", help=f"only this class: {_CLASSES}"
    )
    listing.add_argument(
        "--since", metavar="TIME", help="only those written since (ISO time or age: 12h, 7d)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of lines")
    listing.set_defaults(func=run_list)
    show = _sub(dlq, "show", "one dead letter: the record, reason, audit chain", SHOW_EXAMPLES)
    show.add_argument("id", help="<group>:<partition>:<offset>, as `mlc dlq list` prints it")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument(
        "--index", type=Path, help="the audit index file (default: $MLC_AUDIT_INDEX_PATH)"
    )
    show.set_defaults(func=run_show)
    again = _sub(
        dlq, "redrive", "put dead letters back for exactly their group, once", REDRIVE_EXAMPLES
    )
    again.add_argument("--group", required=True, help="the group to redrive into (its DLQ's)")
    again.add_argument("--id", action="append", default=[], help="this dead letter (repeatable)")
    again.add_argument(
        "--class", dest="failure", metavar="CLASS", help=f"only this class: {_CLASSES}"
    )
    again.add_argument(
        "--since", metavar="TIME", help="only those written since (ISO time or age: 12h, 7d)"
    )
    again.add_argument(
        "--edit", type=Path, metavar="FILE", help="a corrected value (JSON/YAML) for one --id"
    )
    again.add_argument(
        "--schema", metavar="NAME",
        help="with --edit, for a dead letter that cannot be decoded: the value's schema",
    )  # fmt: skip
    again.set_defaults(func=run_redrive)


def _sub(parent: Any, name: str, help_line: str, examples: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = parent.add_parser(
        name, help=help_line, description=help_line[0].upper() + help_line[1:] + ".",
        epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    return sub


def _failure(text: str | None) -> FailureClass | None:
    if text is None:
        return None
    try:
        return FailureClass(text)
    except ValueError:
        raise DlqQueryError(f"unknown class {text!r}: one of {_CLASSES}, unknown") from None


def _answered(command: Callable[[], int]) -> int:
    """Runs one sub-command; its errors become one line on stderr and an exit status."""
    try:
        return command()
    except DlqQueryError as exc:
        print(f"mlc dlq: {exc}", file=sys.stderr)
        return 2
    except (StateLoadError, KafkaException, ProduceError) as exc:
        settings = KafkaSettings()
        print(f"mlc dlq: broker {settings.bootstrap_servers}: {exc}", file=sys.stderr)
        return 1


def run_list(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    def listing() -> int:
        failure = _failure(args.failure)
        since = parse_time(args.since) if args.since else None
        settings = KafkaSettings()
        reader = DlqReader(settings)
        try:
            groups = [args.group] if args.group else sorted(reader.groups())
            letters = [
                letter
                for group in groups
                for letter in reader.window(group, since=since)
                if failure is None or letter.about.failure is failure
            ]
        finally:
            reader.close()
        marks = read_marks(settings)
        rows = [_as_json(letter, marks.get(str(letter.id))) for letter in letters]
        print(json.dumps(rows, indent=2) if args.json else _table(rows), file=out or sys.stdout)
        return 0

    return _answered(listing)


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no dead letters match)"
    width = max(len(row["id"]) for row in rows)
    lines = []
    for row in rows:
        redriven = row["redriven"]
        mark = f"  [redriven {redriven['at']} by {redriven['by']}]" if redriven else ""
        lines.append(
            f"{row['id']:{width}}  {row['written'] or '?':25}  {row['class']:19} "
            f"x{row['attempts'] if row['attempts'] is not None else '?':<3} "
            f"{row['source']}  key={row['key']}  {row['reason'][:120]}{mark}"
        )
    return "\n".join(lines)


def _as_json(letter: DeadLetter, mark: RedriveMark | None) -> dict[str, Any]:
    about = letter.about
    written = (
        datetime.fromtimestamp(letter.written_ms / 1000, UTC).isoformat(timespec="seconds")
        if letter.written_ms
        else None
    )
    return {
        "id": str(letter.id),
        "group": letter.id.group,
        "written": written,
        "class": about.failure.value,
        "attempts": about.attempts,
        "source": f"{about.topic}[{_or_q(about.partition)}]@{_or_q(about.offset)}",
        "key": letter.key,
        "reason": about.reason,
        "dead_lettered_at": about.at,
        "redriven": None if mark is None else {"at": mark.at, "by": mark.by},
    }


def _or_q(number: int | None) -> str:
    return "?" if number is None else str(number)


def run_show(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    def showing() -> int:
        wanted = DeadLetterId.parse(args.id)
        settings = KafkaSettings()
        reader = DlqReader(settings)
        try:
            letter = reader.one(wanted)
        finally:
            reader.close()
        shown = _as_json(letter, read_marks(settings).get(str(letter.id)))
        shown["headers"] = {k: v.decode(errors="replace") for k, v in letter.headers}
        shown["schema"], shown["value"] = _decoded(letter.value)
        shown["audit"] = _audit_chain(settings, letter, shown["value"], index=args.index)
        target = out or sys.stdout
        if args.json:
            print(json.dumps(shown, indent=2, default=str), file=target)
        else:
            print(_details(shown), file=target)
        return 0

    return _answered(showing)


def _decoded(value: bytes) -> tuple[str | None, Any]:
    """The record through the schema catalogue; a value it cannot read as its text."""
    try:
        schema, fields = AvroSerde(SchemaCatalog.load()).decode(value)
    except SerdeError as exc:
        return None, {"undecodable": str(exc), "text": value.decode(errors="replace")}
    return schema, fields


def _audit_chain(
    settings: KafkaSettings, letter: DeadLetter, value: Any, *, index: Path | None
) -> list[dict[str, Any]]:
    """The audit chain of the record's command, event or entity, found as `mlc audit ID`
    finds it: from the audit index when one is configured, else by reading the topic."""
    from audit_index.config import PATH_VARIABLE
    from audit_index.index_file import IndexUnavailable
    from mlc.audit import chain_for, indexed_chain, read_audit

    fields = value if isinstance(value, dict) else {}
    wanted = next(
        (str(fields[f]) for f in ("command_id", "event_id", "entity_id") if fields.get(f)),
        letter.key,
    )
    if not wanted:
        return []
    configured = index or os.environ.get(PATH_VARIABLE)
    if not configured:
        print(f"mlc dlq: no audit index configured (--index or {PATH_VARIABLE}); reading all "
              "of the audit topic", file=sys.stderr)  # fmt: skip
        return chain_for(read_audit(settings), wanted)
    try:
        return indexed_chain(Path(configured), wanted)
    except IndexUnavailable as exc:
        raise DlqQueryError(f"{exc} (--index or {PATH_VARIABLE})") from exc


def _details(shown: dict[str, Any]) -> str:
    from mlc.audit import audit_line

    redriven = shown["redriven"]
    lines = [
        f"id        {shown['id']}",
        f"group     {shown['group']}",
        f"source    {shown['source']}  key={shown['key']}",
        f"class     {shown['class']}",
        f"attempts  {_or_q(shown['attempts'])}",
        f"reason    {shown['reason']}",
        f"at        {shown['dead_lettered_at']} (written {shown['written']})",
        "redriven  " + (f"{redriven['at']} by {redriven['by']}" if redriven else "no"),
        "headers",
        *(f"  {k}: {v}" for k, v in shown["headers"].items()),
        f"value     {shown['schema'] or '(not decodable)'}",
        json.dumps(shown["value"], indent=2, default=str),
        "audit",
        *(f"  {audit_line(e)}" for e in shown["audit"]),
    ]
    if not shown["audit"]:
        lines.append("  (no audit events)")
    return "\n".join(lines)


def run_redrive(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    def redriving() -> int:
        request = RedriveRequest(
            group=args.group,
            ids=tuple(DeadLetterId.parse(text) for text in args.id),
            failure=_failure(args.failure),
            since=parse_time(args.since) if args.since else None,
            edit=args.edit,
            schema=args.schema,
            by=operator(),
        )
        report = redrive(KafkaSettings(), request, serde=AvroSerde(SchemaCatalog.load()))
        target = out or sys.stdout
        for done in report.redriven:
            print(f"redriven {done} -> redrive.{request.group}.v1", file=target)
        for letter_id, mark in report.already:
            print(f"already redriven at {mark.at} by {mark.by}: {letter_id}", file=target)
        for letter_id, why in report.not_redrivable:
            print(f"not redrivable: {letter_id}: {why}", file=target)
        print(
            f"{len(report.redriven)} redriven, {len(report.already)} already redriven, "
            f"{len(report.not_redrivable)} not redrivable",
            file=target,
        )
        return 0

    return _answered(redriving)
