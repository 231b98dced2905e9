"""`mlc status`: lag and health of every consumer group at a glance, for the operator at 9 a.m.

Prints one line per group (the service it runs, its state, lag, rate, dead letters, held
keys) from what the broker knows (see `mlc.group_status`), under it the first few held keys
(kind, since, until, reason), or all of it as JSON. Errors are one line on stderr: exit 2
for an unknown group, 1 for a broker that does not answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from confluent_kafka.admin import AdminClient

from chassis.kafka.held_keys import HOLDS_TOPIC, HeldKey, read_held_keys
from chassis.kafka.state import StateLoadError
from chassis.settings import KafkaSettings
from mlc.group_status import (
    BrokerUnreachableError,
    GroupStatus,
    GroupStatusReader,
    StatusQuery,
    UnknownGroupError,
    read_status,
)

CLIENT = "mlc-status"
DEFAULT_INTERVAL = 2.0
HELD_SHOWN = 3
"""Held keys listed under a group's line; --json lists them all."""

EXAMPLES = """\
examples:
  mlc status                                 every consumer group on the broker
  mlc status --group mlc-slack-sink --json   one group, as JSON
  mlc status --prefix run.3f2a. --interval 5 a demo run's groups, rate over 5 s

lag: committed offsets behind each partition's end (summed over the group's partitions);
rate: records committed per second between two samples --interval apart (0: no rate);
dlq: records retained in the group's dead-letter topic dlq.<group>.v1;
held: keys the group's running members hold (rate-limited, unavailable, credential-held,
daily-limit, budget-held) for 2 s or more, from state.holds.v1; the first 3 are listed
under the group's line (key, kind, since, until when known, reason), --json lists all:

  slack-sink  mlc-slack-sink  STABLE   12   0.0   0  1
    held C0123ABC  credential-held since 2026-12-03 08:58:01Z: acme: invalid_auth
"""


def add_status_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Per consumer group: the service, its state, lag, rate, dead letters and held keys, "
        "read from the broker (KAFKA_BOOTSTRAP_SERVERS)."
    )
    p.epilog = EXAMPLES
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument(
        "--group", action="append", default=[], help="only this group (repeatable); must exist"
    )
    p.add_argument(
        "--prefix", default="", help="only groups on topics with this prefix (a run's topics)"
    )
    p.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL,
        help=f"seconds between the two samples of the rate (default {DEFAULT_INTERVAL}; 0: none)",
    )  # fmt: skip
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for the broker (default 10)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_status)


def render_table(statuses: list[GroupStatus]) -> str:
    """Columns as wide as their longest value, so a run's long group ids stay aligned."""
    service = max([len("SERVICE"), *(len(s.service) for s in statuses)])
    group = max([len("GROUP"), *(len(s.group) for s in statuses)])
    lines = [f"{'SERVICE':{service}} {'GROUP':{group}} {'STATE':12} {'LAG':>8} {'RATE/S':>8} "
             f"{'DLQ':>6}  HELD"]  # fmt: skip
    for s in statuses:
        rate = "-" if s.rate is None else f"{s.rate:.1f}"
        lines.append(
            f"{s.service:{service}} {s.group:{group}} {s.state:12} {s.lag:8} {rate:>8} "
            f"{s.dead_letters:6}  {len(s.held)}"
        )
        lines.extend(f"  held {describe_hold(h)}" for h in s.held[:HELD_SHOWN])
        if len(s.held) > HELD_SHOWN:
            lines.append(f"  ... and {len(s.held) - HELD_SHOWN} more held keys (--json lists all)")
    if len(statuses) == 0:
        lines.append("(no consumer group matches)")
    return "\n".join(lines)


def describe_hold(hold: HeldKey) -> str:
    """`KEY  KIND since TIME [until TIME]: REASON`, times in UTC to the second."""
    until = "" if hold.until is None else f" until {_moment(hold.until)}"
    return f"{hold.key}  {hold.kind.value} since {_moment(hold.since)}{until}: {hold.reason}"


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _held_keys(settings: KafkaSettings, reader: GroupStatusReader) -> list[HeldKey]:
    """Every hold on `state.holds.v1`; none if no service has created the topic yet."""
    if not reader.has_topic(HOLDS_TOPIC.name):
        return []
    try:
        return read_held_keys(settings, client=CLIENT)
    except StateLoadError as exc:
        raise BrokerUnreachableError(f"reading {HOLDS_TOPIC.name}: {exc}") from exc


def run_status(
    args: argparse.Namespace, *, admin: AdminClient | None = None, out: TextIO | None = None
) -> int:
    settings = KafkaSettings()
    query = StatusQuery(groups=tuple(args.group), prefix=args.prefix, timeout=args.timeout)
    reader = GroupStatusReader(
        admin or AdminClient(settings.client_config(CLIENT)), timeout=args.timeout
    )
    try:
        statuses = read_status(
            reader, query, interval=args.interval, wait=time.sleep, clock=time.monotonic,
            held_keys=lambda: _held_keys(settings, reader),
        )  # fmt: skip
    except UnknownGroupError as exc:
        print(f"mlc status: {exc}", file=sys.stderr)
        return 2
    except BrokerUnreachableError as exc:
        print(
            f"mlc status: broker {settings.bootstrap_servers} did not answer ({exc})",
            file=sys.stderr,
        )
        return 1
    shown = json.dumps([s.as_json() for s in statuses], indent=2) if args.json else None
    print(shown or render_table(statuses), file=out or sys.stdout)
    return 0
