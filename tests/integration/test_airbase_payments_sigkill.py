"""SIGKILL of the airbase-payments process at random points, five times, on the real broker:
every mappable payment becomes exactly one RecordSupplierPayment, every held one stays held
across the kills and, once the mapping file is fixed, is released exactly once; none lost,
none twice, in what the Visma writer reads (committed records).

The service runs as `python -m airbase_payments`; before each start a new batch of payments
arrives (some with a cost center the file does not map), it is killed at a random moment
after its next command, and restarted. The file is fixed before the fourth start, so the
last kills can land in the release at start as well as in the stream.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from airbase_payments.inject import PaymentsTopics
from airbase_payments.settings import AirbasePaymentsSettings
from airbase_payments.state import decode_standing
from chassis.kafka.producer import EventProducer
from chassis.kafka.state import iter_to_end, read_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics
from events.airbase import AirbasePaymentLine, AirbasePaymentReady

pytestmark = pytest.mark.integration

KILLS = 5
BATCH, HELD_EVERY = 20, 5
"""Payments per start; every fifth has the unmapped cost center CC-300."""
SERDE = AvroSerde(SchemaCatalog.load())
TENANT = "tenant-se-1"
MAPPING = (
    'tenants:\n  tenant-se-1:\n    company: "tenant-se-1"\n    accounts: {"4010": "4010"}\n'
    '    cost_centers: {"CC-100": "100"%s}\n'
)


def payment(n: int) -> AirbasePaymentReady:
    entry = f"le-{n:04d}"
    department = "CC-300" if n % HELD_EVERY == 0 else "CC-100"
    return AirbasePaymentReady(
        event_id=f"{TENANT}/{entry}@v1", tenant_id=TENANT, company_id=TENANT, entry_id=entry,
        version="v1", entry_type="bill_payment", vendor_ref="70012", bill_ref=f"{n:06d}",
        currency="SEK", amount=Decimal("100.00"), payment_date=date(2026, 12, 2),
        lines=[AirbasePaymentLine(line_number=1, amount=Decimal("100.00"), account_ref="4010",
                                  department_ref=department)],
        observed_at=datetime(2026, 12, 3, 8, tzinfo=UTC), via="poll",
    )  # fmt: skip


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Run:
    """The service as a process on the run's topics, its payments and what it wrote."""

    def __init__(self, kafka_bootstrap: str, unique: str, tmp_path: Path) -> None:
        self.kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
        self.prefix = f"abpay-kill-{unique}."
        self.group = f"abpay-kill-{unique}"
        self.topics = PaymentsTopics.of(AirbasePaymentsSettings(topic_prefix=self.prefix))
        ensure_topics(
            AdminClient(self.kafka.client_config("abpay-kill-rig")), self.topics.all(),
            replication_factor=self.kafka.replication_factor,
        )  # fmt: skip
        self.config, self.log = tmp_path / "airbase-payments.yaml", tmp_path / "service.log"
        self.config.write_text(MAPPING % "")
        self.env = {
            **os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "MLC_HEALTH_PORT": "0",
            "MLC_AIRBASE_PAYMENTS_TRANSACTIONAL_ID": f"abpay-kill-{unique}",
            # Static membership: a restart takes the killed member's partitions at once
            # instead of after its 45 s session (as a Kubernetes pod keeps its name).
            "MLC_GROUP_INSTANCE_ID": f"abpay-kill-{unique}-0",
        }  # fmt: skip
        self.producer = EventProducer(self.kafka, "abpay-kill-rig")
        self.sent = 0
        self.process: subprocess.Popen[bytes] | None = None

    def arrive(self, count: int) -> None:
        for n in range(self.sent + 1, self.sent + count + 1):
            fact = payment(n)
            value = SERDE.encode(fact.SCHEMA, fact.to_record())
            self.producer.send(self.topics.payments.name, key=fact.key, value=value)
        self.producer.flush(60)
        self.sent += count

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "airbase_payments", "--config", str(self.config),
             "--group-id", self.group, "--topic-prefix", self.prefix],
            env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.producer.close()

    def commands(self) -> list[str]:
        """The source entry of every committed command."""
        values = iter_to_end(self.kafka, self.topics.commands.name, client="abpay-kill-check")
        return [SERDE.decode(value)[1]["source_id"] for _, value in values]

    def held(self) -> list[str]:
        values = read_to_end(self.kafka, self.topics.standings.name, client="abpay-kill-state")
        standings = [decode_standing(SERDE, raw) for raw in values.values()]
        return sorted(s.entry_id for s in standings if s.held is not None)

    def progressed(self, before: int) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            output = self.log.read_text(encoding="utf-8", errors="replace")
            raise AssertionError(f"the service stopped: {output[-3000:]}")
        return len(self.commands()) > before


def test_sigkill_at_random_points_sends_every_payment_once_and_releases_once(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    seed = random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    run = Run(kafka_bootstrap, unique, tmp_path)
    run.arrive(BATCH)
    run.start()
    kills: list[int] = []
    try:
        for kill in range(KILLS):
            before = len(run.commands())
            wait_until(lambda b=before: run.progressed(b), timeout=90,  # type: ignore[misc]
                       what="a command after a (re)start")  # fmt: skip
            time.sleep(rng.uniform(0.0, 0.4))  # a random point of its work, not a wait for it
            run.kill()
            kills.append(len(run.commands()))
            run.arrive(BATCH)  # while it is down
            if kill == 2:
                run.config.write_text(MAPPING % ', "CC-300": "300"')  # the operator's fix
            run.start()
        wait_until(lambda: len(set(run.commands())) >= run.sent, timeout=120,
                   what="every payment sent")  # fmt: skip
        wait_until(lambda: run.held() == [], timeout=60, what="no payment held")
    finally:
        run.stop()
    entries = run.commands()
    twice = [e for e, n in Counter(entries).items() if n > 1]
    assert twice == [], f"sent twice: {twice[:5]}"
    assert sorted(entries) == [f"le-{n:04d}" for n in range(1, run.sent + 1)]
    print(
        f"\nseed {seed}: {KILLS} kills after {kills} committed commands; {run.sent} payments, "
        f"{run.sent // HELD_EVERY} held then released; test took {time.monotonic() - started:.0f} s"
    )
