"""`mlc replay SINK`: side-effect-safe replay of a sink's commands from a time or an offset.

The command line and its one-line errors; the work is `mlc.replay_run` (read, plan, act),
the broker's part `mlc.replay_group`, each sink's part its adapter (`mlc.replay_contract`).
Everything printed on stdout is the command's user output; errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

from confluent_kafka.admin import AdminClient

from chassis.errors import ConnectorError
from chassis.kafka.outputs import serde_for
from chassis.kafka.producer import EventProducer
from chassis.settings import KafkaSettings, RegistrySettings
from mlc.group_status import UnknownGroupError
from mlc.replay_contract import ADAPTERS, ReplayContext, build_adapter, sink_parser
from mlc.replay_group import ReplayBroker
from mlc.replay_run import CLIENT, Mode, ReplayRequest, ReplayRun, run_replay
from mlc.replay_times import ReplayUsageError, parse_offsets, parse_time

EXAMPLES = """\
examples:
  mlc replay slack-sink --from 2h --mode dry-run       what a replay of the last 2 hours would do
  mlc replay slack-sink --from 2026-12-03T06:00:00Z    replay since 06:00 UTC (resend-missing)
  mlc replay twilio-sink --from-offset 3:1200 -- --account-sid AC... --from +4670...
  mlc replay slack-sink --from 1d --mode force --key 5f1c...e9 --operator anna

SINK is the service as `mlc run` names it; after `--` come the sink's own options, as it
runs (`mlc run SINK --help`): its group, topics, API base and credentials, so the replay
sees what the sink sees. --prefix prepends a run's prefix to the topics left at default.

The sink must be stopped (kubectl scale deployment/SINK --replicas=0): Kafka refuses to
move the offsets of a group with live members. Per command, the sink's ledger decides:
skip (done, with its external id), hold (PENDING: the sink looks in the system itself),
look up (no entry: looked for in the system, read-only, sent only if absent), stop (no entry
and the system cannot be searched, e.g. SendGrid email: nothing changes unless forced),
refused (older than the ledger's horizon). Then the group is reset to the window's start;
start the sink again and it skips what its ledger shows done.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Reset a sink's consumer group to a time or offset so it handles its commands again, "
        "without repeating a side effect its ledger (or the external system) shows done."
    )
    p.epilog = EXAMPLES
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("sink", metavar="SINK", help=f"the sink service ({', '.join(sorted(ADAPTERS))})")
    start = p.add_mutually_exclusive_group(required=True)
    start.add_argument(
        "--from", dest="since", metavar="TIME",
        help="ISO-8601 (2026-12-03T06:00:00Z, UTC when no zone) or relative (30m, 2h, 7d)",
    )  # fmt: skip
    start.add_argument(
        "--from-offset", action="append", metavar="[PARTITION:]OFFSET",
        help="an offset in every partition, or PARTITION:OFFSET (repeatable)",
    )  # fmt: skip
    p.add_argument("--to", dest="until", metavar="TIME", help="end of the window (default: now)")
    p.add_argument(
        "--mode", choices=[m.value for m in Mode], default=Mode.RESEND_MISSING.value,
        help="dry-run: print the plan; resend-missing (default): only what is not done; "
        "force: repeat the chosen commands",
    )  # fmt: skip
    p.add_argument(
        "--key", action="append", default=[], metavar="KEY",
        help="force: a command id (the ledger's key) or a command's record key (repeatable; "
        "default: every command of the window)",
    )  # fmt: skip
    p.add_argument("--operator", help="who forces (default: $USER), written to the audit trail")
    p.add_argument("--yes", action="store_true", help="force without asking (scripts)")
    p.add_argument("--group", help="the sink's consumer group, if not the one its options give")
    p.add_argument("--prefix", default="", help="topic prefix of a run (e.g. run.3f2a.)")
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for the broker (default 10)"
    )
    p.usage = "mlc replay SINK (--from TIME | --from-offset [P:]OFFSET) [options] [-- SINK_OPTIONS]"
    p.set_defaults(func=run, passed_on=[])


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    try:
        return _replay(args, out or sys.stdout)
    except (ReplayUsageError, UnknownGroupError, ConnectorError) as exc:
        print(f"mlc replay: {exc}", file=sys.stderr)
        return 2


def _replay(args: argparse.Namespace, out: TextIO) -> int:
    now = datetime.now(UTC)
    request = _request(args, now)
    sink_args = _sink_arguments(args.sink, args.passed_on)
    settings = KafkaSettings()
    serde = serde_for(RegistrySettings())
    producer = EventProducer(settings, CLIENT)
    try:
        adapter = build_adapter(args.sink, ReplayContext(
            settings=settings, serde=serde, producer=producer, sink_args=sink_args,
            prefix=args.prefix, group_id=args.group,
        ))  # fmt: skip
        broker = ReplayBroker(AdminClient(settings.client_config(CLIENT)), timeout=args.timeout)
        replay = ReplayRun(adapter, broker, settings, serde, producer, out, now)
        return run_replay(replay, request)
    finally:
        producer.close()


def _request(args: argparse.Namespace, now: datetime) -> ReplayRequest:
    since = None if args.since is None else parse_time(args.since, now=now, option="--from")
    until = None if args.until is None else parse_time(args.until, now=now, option="--to")
    if since is not None and until is not None and until <= since:
        raise ReplayUsageError(f"--to {args.until} is not after --from {args.since}")
    offsets = parse_offsets(args.from_offset or [])
    mode = Mode(args.mode)
    if args.key and mode is not Mode.FORCE:
        raise ReplayUsageError("--key chooses what --mode force repeats; give --mode force")
    operator = args.operator or os.environ.get("USER") or getpass.getuser()
    return ReplayRequest(
        mode=mode, since=since, until=until, offsets=offsets, keys=tuple(args.key),
        operator=operator, confirm=_always if args.yes else _ask,
    )  # fmt: skip


def _sink_arguments(sink: str, options: list[str]) -> argparse.Namespace:
    parser = sink_parser(sink)
    parser.prog = f"mlc replay {sink} ... --"
    return parser.parse_args(options)


def _always(count: int) -> bool:
    return True


def _ask(count: int) -> bool:
    """The operator types the number of commands to repeat, as a check of what they chose."""
    print(f"{count} command(s) will be sent again. Type {count} to go on: ", end="", flush=True)
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip() == str(count)
