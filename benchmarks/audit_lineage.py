"""`python -m benchmarks.audit_lineage`: `mlc audit ID` on a million audit records.

One run: a private audit topic (named after the run, so the shared `audit.v1` is untouched)
gets `--records` audit records shaped as the services write them: chains of a Visma
supplier invoice read by the poller, routed to Slack and to an SMS, sent to both (a Slack ts,
a Twilio SID), two versions per invoice. The audit indexer (`audit_index.inject.build`, as
`mlc run audit-index` runs it) reads the topic into a fresh SQLite file: its build time is
from its start until its group's committed offsets reach the topic's ends. Then `mlc audit`
runs as an operator runs it (`python -m mlc.cli audit ID --index FILE`, a new process each
time) for a Slack ts, a Visma invoice number and a command id: once to warm the page cache,
then `--repeat` times; the figure is the slowest (the median and fastest beside it). The
time inside the process (the index lookup and decode alone) is shown too. The machine's
load average is printed with them: on a shared machine a new process waits for a core.
Target: every command under 1 s.
The run deletes its topics, its consumer group and the index file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from audit_index.config import AuditIndexSettings
from audit_index.index_file import AuditIndexFile
from audit_index.inject import build
from benchmarks.broker import BenchmarkError, Progress, admin, produce
from benchmarks.session import progress, run_session
from benchmarks.workload import Encoded
from chassis.audit import AUDIT_SCHEMA, AUDIT_TOPIC
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics

TARGET_SECONDS = 1.0
PER_CHAIN = 5
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.audit_lineage",
        description="Build the audit index from --records audit records on a private topic "
        "and time `mlc audit` for a Slack ts, a Visma invoice number and a command id. "
        f"Target: each answers in under {TARGET_SECONDS:g} s.",
    )
    p.add_argument("--records", type=int, default=1_000_000, help="audit records (1,000,000)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs of each query (5)")
    p.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
        help="Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:19092)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--keep-topics", action="store_true", help="leave the run's topic in place")
    return p.parse_args(argv)


# ---- the trail -------------------------------------------------------------------------------


def invoice_number(chain: int) -> str:
    return f"{chain // 2:07d}"  # two versions of each invoice


def slack_ts(chain: int) -> str:
    return f"{1772000000 + chain}.000100"


def command_id(chain: int, target: str) -> str:
    return f"cmd-{chain:08d}-{target}"


def chain_records(chain: int) -> list[dict[str, Any]]:
    """One change of one invoice as the poller, the processor and two sinks audit it."""
    number = invoice_number(chain)
    key = f"t1/c1/supplierInvoice/Invoice:{number}"
    event = f"{key}@{chain % 2}"
    at = START + timedelta(milliseconds=50 * chain)
    steps: list[tuple[str, str, str, str | None, str | None, str]] = [
        ("visma-poller", "read", f"Invoice:{number}", None, None, "CREATED in c1"),
        ("processor", "routed", key, command_id(chain, "slack"), None, "rule big -> #ap"),
        ("processor", "routed", key, command_id(chain, "sms"), None, "rule big -> +4670"),
        ("slack-sink", "sent", key, command_id(chain, "slack"), slack_ts(chain), "posted"),
        ("twilio-sink", "sent", key, command_id(chain, "sms"), f"SM{chain:032x}", "queued"),
    ]
    return [
        {
            "audit_id": f"{chain:08d}-{step}",
            "at": at + timedelta(milliseconds=step),
            "service": service,
            "stage": stage,
            "entity_id": entity,
            "event_id": event,
            "command_id": command,
            "external_id": external,
            "detail": detail,
            "correlation_id": None,
            "build_version": "0.1.0+gbench",
        }
        for step, (service, stage, entity, command, external, detail) in enumerate(steps)
    ]


def trail(serde: AvroSerde, chains: int, *, first: int = 0) -> Iterator[Encoded]:
    for chain in range(first, first + chains):
        for record in chain_records(chain):
            yield Encoded(record["entity_id"].encode(), serde.encode(AUDIT_SCHEMA, record))


# ---- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace, *, run_id: str, workdir: Path, say: Progress) -> dict[str, Any]:
    serde = AvroSerde(SchemaCatalog.load())
    kafka = KafkaSettings(bootstrap_servers=args.bootstrap)
    prefix = f"{run_id}."
    topic = prefix + AUDIT_TOPIC.name
    ensure_topics(admin(args.bootstrap), [replace(AUDIT_TOPIC, name=topic)])
    chains = args.records // PER_CHAIN
    started = time.monotonic()
    step = 50_000
    for first in range(0, chains, step):
        produce(args.bootstrap, topic, list(trail(serde, min(step, chains - first), first=first)))
        say(f"produced {min(first + step, chains) * PER_CHAIN:,} audit records")
    produced_seconds = time.monotonic() - started

    settings = AuditIndexSettings(
        path=workdir / "audit-index.sqlite3", group_id=f"{run_id}-audit-index", topic_prefix=prefix
    )
    try:
        return _index_and_query(args, kafka, settings, topic, say=say) | {
            "produce_seconds": round(produced_seconds, 1)
        }
    finally:
        _delete_group(args.bootstrap, settings.group_id, say=say)


def _index_and_query(
    args: argparse.Namespace,
    kafka: KafkaSettings,
    settings: AuditIndexSettings,
    topic: str,
    *,
    say: Progress,
) -> dict[str, Any]:
    chains = args.records // PER_CHAIN
    build_seconds = _build_index(kafka, settings, topic, say=say)
    index = AuditIndexFile.for_reading(settings.path)
    size = index.size()
    chain = chains // 2 + 1
    queries = {
        "slack_ts": slack_ts(chain),
        "visma_invoice_number": invoice_number(chain),
        "command_id": command_id(chain, "sms"),
    }
    timings = {
        kind: _time_query(index, settings.path, wanted, repeat=args.repeat, say=say)
        for kind, wanted in queries.items()
    }
    index.close()
    slowest = max(t["command_seconds_max"] for t in timings.values())
    return {
        "records": chains * PER_CHAIN,
        "index_build_seconds": round(build_seconds, 1),
        "index_records_per_second": round(size.records / build_seconds),
        "index_records": size.records,
        "index_id_rows": size.ids,
        "index_bytes": size.bytes,
        "queries": {kind: {"id": queries[kind], **t} for kind, t in timings.items()},
        "load_average_1min": round(os.getloadavg()[0], 1),
        "pass": slowest < TARGET_SECONDS and size.records == chains * PER_CHAIN,
    }


def _build_index(
    kafka: KafkaSettings, settings: AuditIndexSettings, topic: str, *, say: Progress
) -> float:
    ends = _offsets(kafka.bootstrap_servers, topic, group=None)

    async def index() -> float:
        started = time.monotonic()
        app = build(kafka, settings)
        running = asyncio.ensure_future(app.run())
        try:
            while True:
                committed = await asyncio.to_thread(
                    _offsets, kafka.bootstrap_servers, topic, group=settings.group_id
                )
                if committed == ends:
                    return time.monotonic() - started
                if running.done():
                    raise BenchmarkError(f"the indexer stopped: {running.exception()}")
                say(f"indexed {sum(max(o, 0) for o in committed.values()):,} records")
                await asyncio.sleep(5)
        finally:
            app.stop()
            await running

    return asyncio.run(index())


def _offsets(bootstrap: str, topic: str, *, group: str | None) -> dict[int, int]:
    """The topic's end offsets, or `group`'s committed offsets on it (-1001: none yet)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group or "unused"})
    try:
        partitions = [TopicPartition(topic, p) for p in range(AUDIT_TOPIC.partitions)]
        if group is None:
            return {
                tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions
            }
        return {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)}
    finally:
        consumer.close()


def _delete_group(bootstrap: str, group: str, *, say: Progress) -> None:
    """Deletes the indexer's group (its topics go with the run's); clean-up never hides the
    run's outcome."""
    client = admin(bootstrap)  # held until the answer: a dropped client never resolves it
    try:
        for future in client.delete_consumer_groups([group], request_timeout=30).values():
            future.result(timeout=60)
    except (KafkaException, TimeoutError) as exc:
        say(f"could not delete consumer group {group}: {exc}")
        return
    say(f"deleted consumer group {group}")


def _time_query(
    index: AuditIndexFile,
    path: Path,
    wanted: str,
    *,
    repeat: int,
    say: Progress,
) -> dict[str, Any]:
    def command() -> tuple[float, int]:
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 - this interpreter, our own CLI
            [sys.executable, "-m", "mlc.cli", "audit", wanted, "--index", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise BenchmarkError(f"mlc audit {wanted} failed: {done.stderr.strip()}")
        return seconds, len(done.stdout.splitlines())

    command()  # warms the page cache and the interpreter's files
    runs = [command() for _ in range(repeat)]
    lookups = []
    for _ in range(repeat):
        started = time.monotonic()
        found = index.chain(wanted)
        lookups.append(time.monotonic() - started)
    say(f"mlc audit {wanted}: {len(found)} records, slowest {max(s for s, _ in runs):.3f} s")
    return {
        "records_in_chain": runs[0][1],
        "command_seconds_max": round(max(s for s, _ in runs), 3),
        "command_seconds_median": round(statistics.median(s for s, _ in runs), 3),
        "command_seconds_min": round(min(s for s, _ in runs), 3),
        "lookup_ms_max": round(1000 * max(lookups), 2),
    }


def table(f: dict[str, Any]) -> str:
    mb = f["index_bytes"] / 1e6
    lines = [
        f"audit records      : {f['records']:,} (produced in {f['produce_seconds']} s)",
        f"index build        : {f['index_build_seconds']} s "
        f"({f['index_records_per_second']:,} records/s, load average {f['load_average_1min']})",
        f"index size         : {mb:,.0f} MB ({f['index_records']:,} records, "
        f"{f['index_id_rows']:,} id rows, {f['index_bytes'] / f['index_records']:.0f} B/record)",
    ]
    for kind, q in f["queries"].items():
        lines.append(
            f"mlc audit {kind:<20}: {q['command_seconds_max']:.3f} s max, "
            f"{q['command_seconds_median']:.3f} s median, {q['command_seconds_min']:.3f} s min "
            f"(lookup {q['lookup_ms_max']:.1f} ms), "
            f"{q['records_in_chain']} records  [{q['id']}]"
        )
    lines.append(f"result             : {'PASS' if f['pass'] else 'FAIL'} (< {TARGET_SECONDS} s)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    outcome = run_session(args, run, say=progress())
    if isinstance(outcome, int):
        return outcome
    print(table(outcome))
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2) + "\n", encoding="utf-8")
    return 0 if outcome["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
