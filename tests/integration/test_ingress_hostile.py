"""Issue 10 acceptance: the real ingress process under hostile traffic, on a real broker.

`mlc run ingress` runs as its own process against a private broker (so the broker can be
stopped without touching the shared one). Seeded traffic (hostile_requests) goes to every
route: 10,000 requests with the broker up, then a phase with the broker stopped. Checked:
every answer is one its request allows (no 5xx but 503 while the broker is down), no forged
or stale request is ever answered 2xx, Kafka holds each valid delivery exactly once (replays
included), and the process's memory after the run is within 50 MB of before. A 200 MB
unsigned POST is refused with 413 before it is read, declared or streamed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from mlc.processes import Child, python_module
from tests.integration.hostile_requests import (
    SLACK_SECRET,
    VISMA_SECRET,
    Attempt,
    Traffic,
)
from tests.integration.private_broker import PrivateBroker, free_port

# One worker runs the whole module under xdist: its ingress (and private broker) is module-wide.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ingress-hostile")]

SERDE = AvroSerde(SchemaCatalog.load())
SEED = 20261002
REQUESTS = 10_000
CONCURRENCY = 16
MAX_BODY_BYTES = 256 * 1024  # the default limit, stated here so the figures can be read
MIB = 1024 * 1024
RESETS = frozenset({"ReadError", "WriteError", "RemoteProtocolError"})
"""Transport errors: a connection reset instead of an answer."""


@dataclass
class Ingress:
    child: Child
    url: str
    broker: PrivateBroker
    slack_topic: str
    visma_topic: str

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.child.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the ingress process")


@pytest.fixture(scope="module")
def ingress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingress]:
    state = tmp_path_factory.mktemp("hostile")
    broker = PrivateBroker.under(state / "broker")
    broker.start()
    run = uuid.uuid4().hex[:8]
    port = free_port()
    child = Child(
        "ingress",
        python_module("ingress", "--port", str(port), "--host", "127.0.0.1"),
        state / "ingress.log",
        {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "MLC_INGRESS_SLACK_SIGNING_SECRET": SLACK_SECRET,
            "MLC_INGRESS_VISMA_WEBHOOK_SECRET": VISMA_SECRET,
            "MLC_INGRESS_SLACK_TOPIC": f"hostile.{run}.slack.event.v1",
            "MLC_INGRESS_VISMA_TOPIC": f"hostile.{run}.visma.notification.v1",
            "MLC_INGRESS_ACK_TIMEOUT_SECONDS": "1.0",
        },
    )
    try:
        child.start()
        child.wait_for_log('"msg": "listening"', timeout=120)
        yield Ingress(
            child, f"http://127.0.0.1:{port}", broker,
            slack_topic=f"hostile.{run}.slack.event.v1",
            visma_topic=f"hostile.{run}.visma.notification.v1",
        )  # fmt: skip
    finally:
        child.stop()
        broker.stop()


class Phases:
    """Seconds spent in each phase of the run, for the report."""

    def __init__(self) -> None:
        self._mark = time.monotonic()
        self._laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> float:
        """Ends the phase called `name`; returns its seconds."""
        now = time.monotonic()
        seconds, self._mark = now - self._mark, now
        self._laps.append((name, seconds))
        return seconds

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self._laps)


# ---- the fuzz run --------------------------------------------------------------------------


@dataclass
class Answer:
    attempt: Attempt
    status: int | str
    """The HTTP status, or the transport error's name when there was no answer."""


async def _streamed(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


async def drive(url: str, traffic: Traffic, count: int, *, broker_up: bool = True) -> list[Answer]:
    """`count` requests from `traffic`, CONCURRENCY at a time, each made just before sent."""
    # Idle connections are dropped before the server's 5 s keep-alive closes them: reusing one
    # just as the server closes it is a client-side race (a ReadError), not an answer.
    limits = httpx.Limits(
        max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY, keepalive_expiry=2.0
    )
    answers: list[Answer] = []
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:

        async def one(attempt: Attempt) -> Answer:
            content = (_streamed(attempt.body) if attempt.kind == "huge_streamed_body"
                       else attempt.body)  # fmt: skip
            try:
                response = await http.request(
                    attempt.method, attempt.path, headers=attempt.headers, content=content
                )
            except httpx.TransportError as exc:
                return Answer(attempt, type(exc).__name__)
            return Answer(attempt, response.status_code)

        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1  # claimed before the await, so exactly `count` are sent
                answers.append(await one(traffic.next(broker_up=broker_up)))

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return answers


def wrong(answers: list[Answer]) -> Counter[str]:
    """How many of each kind got which answer it does not allow. A streamed body over the limit
    may also end in a reset: the server answers 413 and closes the connection without reading
    the rest (RFC 9110 15.5.14), and a client still sending may see the reset before the answer
    (CI saw 8 of about 100 so on a loaded machine)."""
    return Counter(
        f"{a.attempt.kind} {a.attempt.method} -> {a.status} (allowed {sorted(a.attempt.allowed)})"
        for a in answers
        if a.status not in a.attempt.allowed
        and not (a.attempt.kind == "huge_streamed_body" and a.status in RESETS)
    )


def by_status(answers: list[Answer]) -> dict[str, int]:
    return dict(sorted(Counter(str(a.status) for a in answers).items()))


def stored_ids(ingress: Ingress) -> tuple[Counter[str], Counter[str]]:
    settings = KafkaSettings(bootstrap_servers=ingress.broker.bootstrap)
    slack = Counter(
        SERDE.decode(value)[1]["event_id"]
        for _, value in iter_to_end(settings, ingress.slack_topic, client="hostile-check")
    )
    visma = Counter(
        SERDE.decode(value)[1]["notification_id"]
        for _, value in iter_to_end(settings, ingress.visma_topic, client="hostile-check")
    )
    return slack, visma


def test_10000_hostile_requests_get_only_allowed_answers_and_memory_stays_flat(
    ingress: Ingress,
) -> None:
    traffic = Traffic(SEED, run=uuid.uuid4().hex[:6])
    clock = Phases()
    warm_up = asyncio.run(drive(ingress.url, traffic, 500))
    clock.lap("warm-up (500)")
    rss_before = ingress.rss_bytes()
    answers = asyncio.run(drive(ingress.url, traffic, REQUESTS))
    up_seconds = clock.lap("10,000 requests")
    rss_after_up = ingress.rss_bytes()
    slack, visma = stored_ids(ingress)
    clock.lap("read the topics")
    ingress.broker.stop()
    clock.lap("stop the broker")
    down = asyncio.run(drive(ingress.url, traffic, 400, broker_up=False))
    clock.lap("400 requests, broker down")
    rss_after = ingress.rss_bytes()
    ingress.broker.start()
    recovered = asyncio.run(deliver_until_stored(ingress.url, traffic))
    clock.lap("broker started, first delivery stored")
    slack_later, visma_later = stored_ids(ingress)
    ingress.child.check()

    print(
        f"\nseed {SEED}: {len(answers)} requests with the broker up in {up_seconds:.1f} s "
        f"({len(answers) / up_seconds:.0f}/s), by status {by_status(answers)}; "
        f"{len(down)} with it stopped, by status {by_status(down)}; "
        f"warm-up {len(warm_up)}: {by_status(warm_up)}\n"
        f"by kind (broker up): "
        f"{dict(sorted(Counter(a.attempt.kind for a in answers).items()))}\n"
        f"RSS before {rss_before / MIB:.1f} MiB, after the 10,000 "
        f"{rss_after_up / MIB:.1f} MiB, after the broker-down phase {rss_after / MIB:.1f} MiB\n"
        f"phases: {clock}"
    )
    everything = [*warm_up, *answers]
    assert wrong(everything) == Counter()
    assert wrong(down) == Counter()
    assert not [a for a in [*everything, *down] if a.attempt.forged and a.status == 200]
    assert not [a for a in everything if isinstance(a.status, int) and a.status >= 500]
    assert {a.status for a in down if isinstance(a.status, int) and a.status >= 500} <= {503}
    assert any(a.status == 503 for a in down), "the broker-down phase must have been seen"

    want_slack = {a.attempt.slack_event for a in everything if a.attempt.slack_event}
    want_visma = {a.attempt.visma_note for a in everything if a.attempt.visma_note}
    assert len(want_slack) > 1000
    assert len(want_visma) > 500
    assert set(slack) == want_slack, "only valid Slack deliveries are stored"
    assert set(visma) == want_visma, "only valid Visma notifications are stored"
    assert max(slack.values()) == 1, "a Slack replay was stored twice"
    assert max(visma.values()) == 1, "a Visma replay was stored twice"
    assert rss_after - rss_before < 50 * MIB
    # What was answered 503 was never stored behind the sender's back once the broker was up.
    assert set(slack_later) == want_slack | {recovered}
    assert set(visma_later) == want_visma


async def deliver_until_stored(url: str, traffic: Traffic) -> str:
    """New valid Slack deliveries until one is stored: the producer reconnects on its own."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http, asyncio.timeout(90):
        while True:
            attempt = traffic.slack_valid(frozenset({200}))
            response = await http.post(attempt.path, headers=attempt.headers,
                                       content=attempt.body)  # fmt: skip
            if response.status_code == 200:
                assert attempt.slack_event is not None
                return attempt.slack_event
            assert response.status_code == 503


# ---- 200 MB, unsigned --------------------------------------------------------------------


@dataclass
class Refusal:
    status_line: bytes
    seconds: float
    bytes_sent: int


class _Uploader(asyncio.Protocol):
    """A client that sends as fast as the server reads and stops at the first byte of an
    answer, keeping what it received even if the server then resets the connection."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.answered = asyncio.Event()
        self.closed = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        self.received += data
        if b"\r\n" in self.received:
            self.answered.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self.writable.set()


async def post_200_mb(url: str, *, declared: bool) -> Refusal:
    """Sends the headers, then body chunks as fast as the server takes them, until the answer
    starts: the time is from the first byte sent to the status line received."""
    host, port = url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_connection(_Uploader, host, int(port))
    size, chunk = 200 * MIB, b"\0" * (64 * 1024)
    framing = f"Content-Length: {size}" if declared else "Transfer-Encoding: chunked"
    head = (f"POST /webhooks/slack HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
            f"\r\n{framing}\r\n\r\n").encode()  # fmt: skip
    sent = 0
    began = loop.time()
    transport.write(head)
    try:
        async with asyncio.timeout(30):
            while sent < size and not client.answered.is_set() and not client.closed.is_set():
                await client.writable.wait()
                transport.write(chunk if declared else b"10000\r\n" + chunk + b"\r\n")
                sent += len(chunk)
                await asyncio.sleep(0)  # lets the answer in between chunks
            ends = [asyncio.ensure_future(client.answered.wait()),
                    asyncio.ensure_future(client.closed.wait())]  # fmt: skip
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
            for end in ends:
                end.cancel()
        seconds = loop.time() - began
    finally:
        transport.close()
    status_line = bytes(client.received).split(b"\r\n", 1)[0]
    return Refusal(status_line, seconds, sent)


RSS_NOISE_BYTES = 8 * MIB


def test_a_200_mb_unsigned_post_is_refused_at_once_without_reading_it(ingress: Ingress) -> None:
    async def run() -> tuple[list[Refusal], list[Refusal]]:
        declared = [await post_200_mb(ingress.url, declared=True) for _ in range(5)]
        streamed = [await post_200_mb(ingress.url, declared=False) for _ in range(5)]
        return declared, streamed

    # Warm-up: the first rounds grow the allocator's pools by about a MiB (the same after
    # 70 requests of 200 MB as after 10: pool growth, not bodies); then it is flat.
    rss_cold = ingress.rss_bytes()
    for _ in range(3):
        asyncio.run(run())
    rss_before = ingress.rss_bytes()
    declared, streamed = asyncio.run(run())
    rss_after = ingress.rss_bytes()

    print(
        f"\n200 MB declared: {[f'{r.seconds * 1000:.1f} ms' for r in declared]}, "
        f"body bytes sent before the answer {[r.bytes_sent for r in declared]}\n"
        f"200 MB streamed: {[f'{r.seconds * 1000:.1f} ms' for r in streamed]}, "
        f"body bytes sent before the answer {[r.bytes_sent for r in streamed]}\n"
        f"RSS cold {rss_cold / MIB:.2f} MiB, after 30 warm-up posts {rss_before / MIB:.2f} MiB, "
        f"after these 10 {rss_after / MIB:.2f} MiB "
        f"(rise {(rss_after - rss_before) / 1024:.0f} KiB; limit {RSS_NOISE_BYTES // 1024} KiB)"
    )
    for refusal in [*declared, *streamed]:
        assert refusal.status_line.startswith(b"HTTP/1.1 413"), refusal.status_line
        assert refusal.bytes_sent < 200 * MIB
    assert sorted(r.seconds for r in declared)[len(declared) // 2] < 0.1
    assert sorted(r.seconds for r in streamed)[len(streamed) // 2] < 0.1
    # A body read even once would add 200 MB; the allocator alone moves by up to about a MiB
    # on a busy machine (CI saw 844 KiB after the warm-up), so the bound is far from both.
    assert rss_after - rss_before <= RSS_NOISE_BYTES
