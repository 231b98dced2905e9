"""`python -m benchmarks.ledger_state`: a Slack sink's ledger memory and reload time as the
number of commands it has ever handled grows (issue 9 item 9).

For each N it writes N ledger entries on the real broker at a steady rate of history: the
newest `--live` entries are within the 40-day horizon, the rest older, spread evenly, so a
larger N is a longer past, not a busier present. A child process (the sink's own `Ledger`,
nothing else) then loads them, and its RSS and load time are read:

- before (`--before-root`: a checkout of d3f41e4 with its venv): the ledger reads the whole
  topic at start and again on every rebalance;
- after: the first load after the upgrade reads every partition once and writes tombstones
  for the expired entries; the broker's cleaner then compacts them away (this topic rolls and
  cleans quickly), and a rebalance reload reads only the assigned partitions: 3 of 6 here,
  as a second replica joining would get.

The child prints one JSON line; the parent prints a table and the JSON of every figure.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from benchmarks.broker import BenchmarkError, Progress
from benchmarks.session import progress, run_session

PARTITIONS = 6
HORIZON_DAYS = 40
ROOT = Path(__file__).resolve().parents[1]
QUICK_CLEANING = {
    "cleanup.policy": "compact",
    "segment.ms": "5000",
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
    "delete.retention.ms": "1000",
}


# ---- the child: one sink ledger, measured ---------------------------------------------------


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchmarkError("no VmRSS in /proc/self/status")


def child(args: argparse.Namespace) -> None:
    """Loads the ledger as the sink does on assignment; prints the figures as JSON."""
    from chassis.kafka.producer import EventProducer
    from chassis.serde import AvroSerde, SchemaCatalog
    from chassis.settings import KafkaSettings
    from slack_sink.ledger import Ledger

    settings = KafkaSettings(bootstrap_servers=args.bootstrap)
    serde = AvroSerde(SchemaCatalog.load())
    producer = EventProducer(settings, f"{args.topic}-bench")
    baseline = rss_mb()
    figures: dict[str, Any] = {"baseline_rss_mb": round(baseline, 1), "loads": []}
    by_partition = "partitions" in inspect.signature(Ledger.load).parameters
    figures["partitioned"] = by_partition
    # One ledger, loaded again on each "assignment", as the sink's runner does.
    ledger = Ledger(sink="slack-sink", topic=args.topic, producer=producer, serde=serde)
    for partitions in args.loads:
        wanted = [int(p) for p in partitions.split(",")]
        started = time.perf_counter()
        known = ledger.load(settings, wanted) if by_partition else ledger.load(settings)  # type: ignore[call-arg]
        seconds = time.perf_counter() - started
        figures["loads"].append(
            {"partitions": wanted if by_partition else "all", "seconds": round(seconds, 2),
             "entries": known, "rss_mb": round(rss_mb(), 1)}
        )  # fmt: skip
    producer.close()
    print(json.dumps(figures), flush=True)


# ---- the parent: write, measure before and after --------------------------------------------


def entry_value(serde: Any, command_id: str, at: datetime, n: int) -> bytes:
    from events.deliveries import DeliveryStatus, SinkDelivery

    entry = SinkDelivery(
        command_id=command_id, sink="slack-sink", status=DeliveryStatus.DONE,
        destination=f"acme/ap-{n % 20}", external_id=f"1700000000.{n:06d}", at=at,
        channel_id=f"C{n % 20:08d}", ts=f"1700000000.{n:06d}", tenant_id="t1", company_id="c1",
        entity_type="supplierInvoice", entity_id=f"t1/c1/supplierInvoice/{n}", rule="ap-new",
    )  # fmt: skip
    return serde.encode(entry.SCHEMA, entry.to_record())  # type: ignore[no-any-return]


def write_history(bootstrap: str, topic: str, *, total: int, live: int, say: Progress) -> None:
    """`total` entries: the newest `live` within the horizon, the rest older, evenly spread."""
    from chassis.serde import AvroSerde, SchemaCatalog

    serde = AvroSerde(SchemaCatalog.load())
    now = datetime.now(UTC)
    per_entry = timedelta(days=HORIZON_DAYS - 1) / max(live, 1)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 50,
                         "compression.type": "lz4"})  # fmt: skip
    failures: list[str] = []
    rng = random.Random(total)
    for n in range(total):
        at = now - per_entry * (total - n)  # the newest `live` are within 39 days
        value = entry_value(serde, f"cmd-{n:08d}", at, n)
        while True:
            try:
                producer.produce(
                    topic, value, f"cmd-{n:08d}", partition=rng.randrange(PARTITIONS),
                    on_delivery=lambda err, _m: failures.append(str(err)) if err else None,
                )  # fmt: skip
                break
            except BufferError:
                producer.poll(0.05)
        if n % 100_000 == 0 and n:
            say(f"  {n} entries written")
    if producer.flush(120) or failures:
        raise BenchmarkError(f"writing the history failed: {failures[:3]}")


def records_in(bootstrap: str, topic: str) -> int:
    """How many records the topic holds now (after whatever compaction has run)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-count",
                         "enable.auto.commit": False})  # fmt: skip
    try:
        tps = [TopicPartition(topic, p, 0) for p in range(PARTITIONS)]
        ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps}
        starts = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[0] for tp in tps}
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in range(PARTITIONS)])
        left = {p for p in range(PARTITIONS) if ends[p] > starts[p]}
        count = 0
        deadline = time.monotonic() + 300
        while left and time.monotonic() < deadline:
            for message in consumer.consume(5000, 0.5):
                if message.error() is None:
                    count += 1
            for tp in consumer.position([TopicPartition(topic, p) for p in list(left)]):
                if tp.offset >= ends[tp.partition]:
                    left.discard(tp.partition)
        return count
    finally:
        consumer.close()


def wait_for_cleaning(bootstrap: str, topic: str, *, live: int, say: Progress) -> int:
    """Rolls the active segment (an append after `segment.ms`) until the cleaner has removed
    the expired entries and their tombstones; returns the records left."""
    producer = Producer({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + 600
    while True:
        time.sleep(6)  # past segment.ms, so the next append rolls the segment
        for partition in range(PARTITIONS):
            producer.produce(topic, None, f"roll-{partition}", partition=partition)
        producer.flush(30)
        left = records_in(bootstrap, topic)
        say(f"  records left in the topic: {left}")
        if left <= live * 1.05 + 10 * PARTITIONS or time.monotonic() > deadline:
            return left


def run_module(python: str, cwd: Path, args: list[str]) -> str:
    """Runs this module in `cwd`'s code with `python`; returns its standard output."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        str(cwd / p) for p in ("libs", "services", "."))}  # fmt: skip
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, our arguments
        [python, "-m", "benchmarks.ledger_state", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchmarkError(f"{args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


def measure(python: str, cwd: Path, args: list[str]) -> dict[str, Any]:
    out = run_module(python, cwd, ["child", *args])
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(args: argparse.Namespace, *, run_id: str, workdir: Path, say: Progress) -> dict[str, Any]:
    admin = AdminClient({"bootstrap.servers": args.bootstrap, "log_level": 4})
    results: dict[str, Any] = {}
    all_partitions = ",".join(str(p) for p in range(PARTITIONS))
    half = ",".join(str(p) for p in range(PARTITIONS // 2))
    for total in args.counts:
        topic = f"{run_id}.ledger-{total}"
        for future in admin.create_topics(
            [NewTopic(topic, PARTITIONS, 1, config=QUICK_CLEANING)]
        ).values():
            future.result()
        say(f"N={total}: writing {total} entries ({args.live} within the horizon)")
        # Written by the oldest code measured, in a schema version every side can read.
        writer = Path(args.before_root) if args.before_root else ROOT
        run_module(
            str(writer / ".venv/bin/python"), writer,
            ["write", "--bootstrap", args.bootstrap, "--topic", topic, "--total", str(total),
             "--live", str(args.live)],
        )  # fmt: skip
        row: dict[str, Any] = {}
        if args.before_root:
            before = Path(args.before_root)
            say(f"N={total}: before (d3f41e4): start load, then a rebalance reload")
            row["before"] = measure(
                str(before / ".venv/bin/python"), before,
                ["--bootstrap", args.bootstrap, "--topic", topic,
                 "--loads", all_partitions, all_partitions],
            )  # fmt: skip
        say(f"N={total}: after: first load after the upgrade (tombstones the expired)")
        row["after_first"] = measure(
            str(ROOT / ".venv/bin/python"), ROOT,
            ["--bootstrap", args.bootstrap, "--topic", topic, "--loads", all_partitions],
        )  # fmt: skip
        say(f"N={total}: waiting for the broker's cleaner")
        row["records_after_cleaning"] = wait_for_cleaning(
            args.bootstrap, topic, live=args.live, say=say
        )
        say(f"N={total}: after: a replica given all 6 partitions; one given 3 by a rebalance")
        row["after"] = measure(
            str(ROOT / ".venv/bin/python"), ROOT,
            ["--bootstrap", args.bootstrap, "--topic", topic, "--loads", all_partitions],
        )  # fmt: skip
        row["after_rebalance"] = measure(
            str(ROOT / ".venv/bin/python"), ROOT,
            ["--bootstrap", args.bootstrap, "--topic", topic, "--loads", half],
        )  # fmt: skip
        results[str(total)] = row
        say(f"N={total}: {json.dumps(row)}")
        admin.delete_topics([topic])
    return results


def report(results: dict[str, Any]) -> None:
    print(f"{'N':>9} | {'before RSS':>10} {'reload s':>8} | {'after RSS':>9} {'reload s':>8} "
          f"{'(3/6 parts)':>11} | records left")  # fmt: skip
    for total, row in results.items():
        before = row.get("before", {}).get("loads", [])
        after = row["after"]["loads"][0]
        reload = row["after_rebalance"]["loads"][0]
        b_rss = f"{before[-1]['rss_mb']:.0f} MB" if before else "-"
        b_reload = f"{before[-1]['seconds']:.2f}" if before else "-"
        print(f"{total:>9} | {b_rss:>10} {b_reload:>8} | {after['rss_mb']:>6.0f} MB "
              f"{reload['seconds']:>8.2f} {reload['entries']:>11} | "
              f"{row['records_after_cleaning']}")  # fmt: skip
    print(json.dumps(results))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ledger_state", description=__doc__)
    sub = p.add_subparsers(dest="mode")
    c = sub.add_parser("child")
    c.add_argument("--bootstrap", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--loads", nargs="+", required=True, help="partition lists, one per load")
    w = sub.add_parser("write")
    w.add_argument("--bootstrap", required=True)
    w.add_argument("--topic", required=True)
    w.add_argument("--total", type=int, required=True)
    w.add_argument("--live", type=int, required=True)
    p.add_argument("--bootstrap", default="127.0.0.1:19092")
    p.add_argument("--counts", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    p.add_argument("--live", type=int, default=20_000, help="entries within the horizon")
    p.add_argument("--before-root", help="a checkout of the base commit with its .venv")
    p.add_argument("--keep-topics", action="store_true")
    return p


def main() -> int:
    args = parser().parse_args()
    if args.mode == "child":
        child(args)
        return 0
    if args.mode == "write":
        write_history(args.bootstrap, args.topic, total=args.total, live=args.live,
                      say=progress())  # fmt: skip
        return 0
    results = run_session(args, run, say=progress())
    if isinstance(results, int):
        return results
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
