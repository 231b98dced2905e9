"""`python -m benchmarks.ingress`: signed Slack events per second into the ingress, and ack latency.

One run: the ingress starts as in production (`python -m ingress`, uvicorn) on the local
broker with a fresh topic; an open-loop load generator (aiohttp, a fixed arrival rate, a
bounded pool of connections) sends signed Slack events, a share of them again as Slack's
retries. Each acknowledgement's latency is measured from the moment its request was due,
so a generator or a server that falls behind shows up as latency, not as a lower rate.
Afterwards the topic is read back: every acknowledged event must be in Kafka exactly once.
Prints events/s, p50/p99/max ack latency and PASS or FAIL against the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.broker import (
    BenchmarkError,
    Progress,
    create_topics,
)
from benchmarks.processes import Child, ChildError
from benchmarks.session import progress, run_session
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings

TARGET_RATE = 1000.0
TARGET_P99_MS = 100.0


@dataclass(frozen=True)
class Delivery:
    event_id: str
    body: bytes
    retry_num: int | None


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    acked: Counter[str] = field(default_factory=Counter)
    refused: Counter[int] = field(default_factory=Counter)
    first_due: float = 0.0
    last_done: float = 0.0
    server_cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.ingress",
        description="Measure the Slack Events ingress: signed events per second at a fixed "
        "arrival rate, ack latency (p50/p99), and that every acknowledged event is in Kafka "
        f"exactly once. Targets: {TARGET_RATE:,.0f} events/s, p99 < {TARGET_P99_MS:.0f} ms.",
    )
    p.add_argument("--rate", type=float, default=1100.0, help="deliveries per second (1100)")
    p.add_argument("--seconds", type=float, default=15.0, help="measured duration (15)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured lead-in, s (2)")
    p.add_argument("--connections", type=int, default=64, help="client connections (64)")
    p.add_argument(
        "--retry-share", type=float, default=0.02, help="share sent again as retries (0.02)"
    )
    p.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
        help="Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:19092)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--keep-topics", action="store_true", help="leave the run's topic in place")
    return p.parse_args(argv)


# ---- the workload ----------------------------------------------------------------------------


def deliveries(count: int, *, run_id: str, retry_share: float) -> list[Delivery]:
    """`count` deliveries: distinct events, every 1/retry_share-th followed later by a retry."""
    every = round(1 / retry_share) if retry_share > 0 else 0
    out: list[Delivery] = []
    for n in range(count):
        event_id = f"Ev{run_id[-8:]}{n:08d}"
        body = _envelope(event_id, n)
        out.append(Delivery(event_id, body, None))
        if every and n % every == every - 1 and n >= 50:
            earlier = out[-50]  # Slack's retry of a delivery made a moment ago
            out.append(Delivery(earlier.event_id, earlier.body, 1))
    return out


def _envelope(event_id: str, n: int) -> bytes:
    channel = f"C{n % 50:04d}"
    event = {
        "type": "reaction_added",
        "user": f"U{n % 200:05d}",
        "reaction": "white_check_mark",
        "item": {"type": "message", "channel": channel, "ts": f"1772445600.{n:06d}"},
        "event_ts": f"1772445660.{n:06d}",
    }
    envelope = {
        "type": "event_callback",
        "team_id": "T0BENCH",
        "api_app_id": "A0BENCH",
        "event": event,
        "event_id": event_id,
        "event_time": 1772445660,
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def signed_headers(body: bytes, secret: bytes, retry_num: int | None) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
    return headers


# ---- the load generator ----------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection, as lean as a client can be: the benchmark's own
    CPU time comes out of the same two cores the ingress runs on."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def post(self, request: bytes) -> int:
        self._writer.write(request)
        status_line = await self._reader.readline()
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self._reader.readexactly(length)
        return int(status_line.split()[1])

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


def http_request(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def fire(
    url: str,
    plan: list[Delivery],
    *,
    rate: float,
    connections: int,
    secret: bytes,
    measure_from: int,
) -> Results:
    """Sends `plan[i]` at start + i/rate (open loop) over a pool of keep-alive connections;
    latency counts from that due time, so waiting for a free connection counts too."""
    host_port = url.removeprefix("http://").split("/")[0]
    host, port = host_port.rsplit(":", 1)
    requests = [
        http_request(
            host_port, "/webhooks/slack", d.body, signed_headers(d.body, secret, d.retry_num)
        )
        for d in plan
    ]
    pool = [await Connection.open(host, int(port)) for _ in range(connections)]
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    results = Results()
    loop = asyncio.get_running_loop()

    async def worker(connection: Connection) -> None:
        while (item := await queue.get()) is not None:
            i, due = item
            status = await connection.post(requests[i])
            done = loop.time()
            if status == 200:
                results.acked[plan[i].event_id] += 1
            else:
                results.refused[status] += 1
            if i >= measure_from:
                results.latencies_ms.append((done - due) * 1000)
                results.last_done = max(results.last_done, done)

    workers = [asyncio.create_task(worker(c)) for c in pool]
    start = loop.time() + 0.1
    results.first_due = start + measure_from / rate
    for i in range(len(plan)):
        due = start + i / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        queue.put_nowait((i, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    for connection in pool:
        await connection.close()
    return results


# ---- the run -----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (Linux /proc), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def stored_event_ids(bootstrap: str, topic: str) -> Counter[str]:
    serde = AvroSerde(SchemaCatalog.load())
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    client = f"bench-reader-{uuid.uuid4().hex[:6]}"
    return Counter(
        serde.decode(value)[1]["event_id"]
        for _, value in iter_to_end(settings, topic, client=client)
    )


def run(args: argparse.Namespace, *, run_id: str, workdir: Path, say: Progress) -> dict[str, Any]:
    topic = f"bench.slack-event.{run_id}"
    create_topics(args.bootstrap, [topic], partitions=6)
    secret = secrets.token_hex(16)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": args.bootstrap,
        "MLC_INGRESS_SLACK_TOPIC": topic,
        "MLC_INGRESS_SLACK_SIGNING_SECRET": secret,
    }
    ingress_args = ["--host", "127.0.0.1", "--port", "0"]
    with Child("ingress", ingress_args, log_path=workdir / "ingress.log", env=env) as ingress:
        url = ingress.wait_for_line(r'"url": "(http://[^"]+)"', timeout=60).group(1)
        warmup = int(args.warmup * args.rate)
        plan = deliveries(
            warmup + int(args.seconds * args.rate), run_id=run_id, retry_share=args.retry_share
        )
        say(f"ingress at {url}; {len(plan):,} deliveries at {args.rate:,.0f}/s")
        server_cpu, client_cpu = cpu_seconds(ingress.process.pid), time.process_time()
        results = asyncio.run(
            fire(
                f"{url}/webhooks/slack",
                plan,
                rate=args.rate,
                connections=args.connections,
                secret=secret.encode(),
                measure_from=warmup,
            )
        )
        results.server_cpu_seconds = cpu_seconds(ingress.process.pid) - server_cpu
        results.client_cpu_seconds = time.process_time() - client_cpu
        ingress.check_alive()
    say("reading the topic back")
    in_kafka = stored_event_ids(args.bootstrap, topic)
    return figures(results, in_kafka)


def figures(results: Results, in_kafka: Counter[str]) -> dict[str, Any]:
    if not results.latencies_ms:
        raise BenchmarkError("no measured deliveries")
    span = max(results.last_done - results.first_due, 1e-3)
    acked = set(results.acked)
    missing = sorted(acked - set(in_kafka))
    doubled = sorted(i for i, n in in_kafka.items() if n > 1)
    unacked_stored = sorted(set(in_kafka) - acked)
    rate = len(results.latencies_ms) / span
    p99 = percentile(results.latencies_ms, 0.99)
    once = not missing and not doubled
    return {
        "deliveries_per_second": round(rate, 1),
        "latency_ms": {
            "p50": round(percentile(results.latencies_ms, 0.50), 2),
            "p99": round(p99, 2),
            "max": round(max(results.latencies_ms), 2),
        },
        "measured_deliveries": len(results.latencies_ms),
        "acknowledged_events": len(acked),
        "refused": {str(k): v for k, v in sorted(results.refused.items())},
        "cpu_ms_per_delivery": {
            "ingress": round(results.server_cpu_seconds * 1000 / len(results.acked), 3),
            "load_generator": round(results.client_cpu_seconds * 1000 / len(results.acked), 3),
        },
        "in_kafka": {
            "events": len(in_kafka),
            "records": sum(in_kafka.values()),
            "missing": len(missing),
            "more_than_once": len(doubled),
            "stored_but_not_acknowledged": len(unacked_stored),
        },
        "exactly_once": once,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "pass": rate >= TARGET_RATE and p99 < TARGET_P99_MS and once and not results.refused,
    }


def table(f: dict[str, Any]) -> str:
    lat, kafka = f["latency_ms"], f["in_kafka"]
    verdict = "PASS" if f["pass"] else "FAIL"
    return "\n".join(
        [
            f"signed events/s    : {f['deliveries_per_second']:,.0f} "
            f"(target >= {TARGET_RATE:,.0f})",
            f"ack latency        : p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max "
            f"{lat['max']:.1f} ms (target p99 < {TARGET_P99_MS:.0f} ms)",
            f"acknowledged       : {f['acknowledged_events']:,} events, "
            f"refused {f['refused'] or 0}",
            f"CPU per delivery   : ingress {f['cpu_ms_per_delivery']['ingress']:.2f} ms, load "
            f"generator {f['cpu_ms_per_delivery']['load_generator']:.2f} ms "
            f"({os.cpu_count()} cores, load average {f['load_average_1min']:.1f})",
            f"in Kafka           : {kafka['records']:,} records, {kafka['missing']} missing, "
            f"{kafka['more_than_once']} more than once",
            f"result             : {verdict}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    outcome = run_session(
        args, run, say=progress(), errors=(BenchmarkError, ChildError, OSError, EOFError)
    )
    if isinstance(outcome, int):
        return outcome
    print(table(outcome))
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2) + "\n", encoding="utf-8")
    return 0 if outcome["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
