"""SIGKILL of the airbase-poller five times, on the real broker: every payment entry Airbase
held as ready to sync is published, none twice per version, payments made while it is down
and while it starts included, and entries marked synced meanwhile (pages shifting under it).

The Airbase sandbox runs under uvicorn (real time) with 120 bills an approver approved and
paid before the poller starts, each a `bill_payment` ledger entry; a pull reads every page and
then each new entry's bill, and publishes batches of 10 facts (with the poller's memory) per
transaction. The poller runs as `python -m airbase_poller` with its token from a vault on the
broker and is killed at a random moment just after a commit (the topic's end offsets moved),
so kills land while the rest of a pull is still to be published (at least 3 of 5 must). While
it is down 40 more bills are paid; as it restarts, published entries are marked synced (as the
airbase-sink does) and 3 more bills paid. About 10% of the poller's reads are answered 429
(Retry-After), 503 or 500. Its token appears in none of its logs and none of the topics it
writes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics
from chassis.vault import MasterKey, VaultSettings, vault_from_environment
from events.airbase import AIRBASE_PAYMENTS
from events.airbase_polls import STATE_AIRBASE_POLLER
from sandbox import SandboxConfig
from tests.unit.sandbox.sandbox_kit import served_on_loopback

pytestmark = pytest.mark.integration

KILLS = 5
BEFORE_START = 120
PAID_WHILE_DOWN = 40
SERDE = AvroSerde(SchemaCatalog.load())
TENANT = "tenant-se-1"
TOKEN = f"airbase-demo-token-{TENANT}"
AUTH = {"Authorization": f"Token {TOKEN}"}


@contextmanager
def airbase_sandbox() -> Iterator[str]:
    """The sandbox under uvicorn on a loopback socket (real time); yields its Airbase base URL.
    The hourly allowance is raised: this test is about kills, the budget has its own tests."""
    config = SandboxConfig.model_validate({"airbase": {"requests_per_hour": 1_000_000}})
    with served_on_loopback(config) as base:
        yield f"{base}/airbase"


class Approver:
    """The ERP's bills in Airbase, approved and paid as an approver does; marking synced as the
    airbase-sink does after the Visma payment."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.bills = 0

    def pay_bills(self, count: int) -> None:
        for _ in range(count):
            self.bills += 1
            n, vendor = self.bills, f"V{(self.bills - 1) // 20}"  # 20 bills a vendor
            if (n - 1) % 20 == 0:
                self._create("vendors", {"name": f"Vendor {vendor}", "erp_reference_id": vendor})
            bill = self._create("bills", {
                "erp_reference_id": f"INV-{n:04}", "vendor": {"erp_reference_id": vendor},
                "invoice_number": f"SUP-{n}", "currency": {"iso_code": "SEK"},
                "total_amount": f"{n}.50", "entry_date": "2026-03-01", "due_date": "2026-03-31",
                "expense_list": [{"line_number": 1, "account": {"erp_reference_id": "4010"},
                                  "amount": f"{n}.50", "description": "goods",
                                  "tags": [{"type": "department", "erp_reference_id": "CC10"}]}],
            })  # fmt: skip
            for step in ("approve", "pay"):
                self.http.post(f"/_sandbox/bills/{bill['airbase_id']}/{step}").raise_for_status()

    def _create(self, resource: str, body: dict[str, object]) -> dict[str, str]:
        response = self.http.post(f"/v1/accounting/{resource}/", json=body, headers=AUTH)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def mark_synced(self, entry_ids: list[str]) -> None:
        for entry_id in entry_ids:
            self.http.patch(
                f"/v1/accounting/ledger_entries/{entry_id}/", headers=AUTH,
                json={"status": "synced", "erp_reference_id": f"PAY-{entry_id[:8]}"},
            ).raise_for_status()  # fmt: skip

    def payments(self) -> dict[str, str]:
        """Every ledger entry of any status: airbase_id -> status."""
        answer = self.http.get("/_sandbox/ledger_entries", params={"tenant": TENANT})
        return {r["airbase_id"]: r["status"] for r in answer.raise_for_status().json()["records"]}


def published(kafka: KafkaSettings, topic: str) -> list[tuple[str, str]]:
    """Every committed fact as (entry id, version)."""
    facts = []
    for _, value in iter_to_end(kafka, topic, client="airbase-poller-kill-check"):
        record = SERDE.decode(value)[1]
        facts.append((record["entry_id"], record["version"]))
    return facts


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_sigkill_while_pulling_repeats_and_loses_nothing(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    seed = random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    prefix = f"run-{unique}-"
    master = MasterKey.generate().to_base64()
    vault_settings = VaultSettings(
        master_key=SecretStr(master), credentials_topic=f"state.credentials-{unique}.v1"
    )
    vault = vault_from_environment(kafka=kafka, settings=vault_settings)
    vault.load()
    vault.put(f"airbase/{TENANT}", SecretStr(TOKEN))
    log = tmp_path / "airbase-poller.log"
    config = tmp_path / "airbase-poller.yaml"
    env = {
        **os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "MLC_MASTER_KEY": master,
        "MLC_CREDENTIALS_TOPIC": vault_settings.credentials_topic,
        "MLC_AIRBASE_POLLER_TRANSACTIONAL_ID": f"airbase-poller-{unique}", "MLC_HEALTH_PORT": "0",
    }  # fmt: skip
    payments_topic = f"{prefix}{AIRBASE_PAYMENTS.name}"
    ensure_topics(
        AdminClient(kafka.client_config("airbase-poller-kill-test")),
        [replace(AIRBASE_PAYMENTS, name=payments_topic)],
        replication_factor=kafka.replication_factor,
    )

    with airbase_sandbox() as base, httpx.Client(base_url=base, timeout=30) as http:
        config.write_text(
            f"tenants:\n  - tenant_id: {TENANT}\n    company_id: '1234567'\n"
            f"    api_base: {base}\n    credential: airbase/{TENANT}\n"
            "every_seconds: 1\nbatch_size: 10\nreserve_calls: 0\nhourly_calls: 1000000\n",
            encoding="utf-8",
        )
        approver = Approver(http)
        approver.pay_bills(BEFORE_START)
        for status, retry_after in ((429, 1), (503, None), (500, None)):  # 10% of its reads
            http.post("/_sandbox/faults", json={
                "status": status, "retry_after": retry_after, "times": None, "method": "GET",
                "probability": 0.034,
            }).raise_for_status()  # fmt: skip

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "airbase_poller", "--config", str(config),
                 "--topic-prefix", prefix],
                env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
            )  # fmt: skip

        def running() -> None:
            if poller.poll() is not None:
                output = log.read_text(encoding="utf-8", errors="replace")
                raise AssertionError(f"the poller stopped: {output[-3000:]}")

        def committed() -> list[tuple[str, str]]:
            return published(kafka, payments_topic)

        # The end offsets move with each commit and are read in milliseconds: the kill lands
        # right after a commit, while the rest of the pull is still to be published.
        watermarks = Consumer(kafka.client_config("airbase-poller-kill-watch") | {
            "group.id": f"airbase-poller-kill-watch-{unique}"})  # fmt: skip
        partitions = [TopicPartition(payments_topic, p) for p in range(AIRBASE_PAYMENTS.partitions)]

        def end_offsets() -> int:
            return sum(watermarks.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions)

        poller = start()
        kills: list[int] = []
        unpublished: list[int] = []  # payments made but not yet published, at each kill
        try:
            for _ in range(KILLS):
                before = end_offsets()
                wait_until(lambda b=before: running() or end_offsets() > b,  # type: ignore[misc]
                           timeout=120, what="progress after a (re)start")  # fmt: skip
                time.sleep(rng.uniform(0.0, 0.3))  # a random kill point, not a synchronisation
                poller.send_signal(signal.SIGKILL)
                poller.wait(timeout=10)
                kills.append(len(committed()))
                unpublished.append(approver.bills - kills[-1])
                approver.pay_bills(PAID_WHILE_DOWN)  # while it is down
                poller = start()
                done = sorted({entry for entry, _ in committed()})
                approver.mark_synced(rng.sample(done, min(5, len(done))))  # pages shift
                approver.pay_bills(3)  # while it starts and pulls
            mid_pull = sum(1 for n in unpublished if n > 0)
            assert mid_pull >= 3, f"only {mid_pull} kills left payments unpublished: {unpublished}"
            wanted = set(approver.payments())
            wait_until(lambda: {entry for entry, _ in committed()} >= wanted, timeout=180,
                       what="every payment Airbase holds")  # fmt: skip
        finally:
            watermarks.close()
            poller.send_signal(signal.SIGTERM)
            try:
                poller.wait(timeout=20)
            except subprocess.TimeoutExpired:
                poller.kill()
        fired = http.get("/_sandbox/faults/fired").raise_for_status().json()
        facts = committed()
        twice = [fact for fact, n in Counter(facts).items() if n > 1]
        assert twice == [], f"published twice: {twice[:5]}"
        assert {entry for entry, _ in facts} == wanted
        assert len({entry for entry, _ in facts}) == len(facts)  # no entry changed: one version
        assert sum(fired["by_status"].values()) > 0, "no fault was injected"
    output = log.read_bytes()
    assert TOKEN.encode() not in output
    for topic in (payments_topic, f"{prefix}{STATE_AIRBASE_POLLER.name}"):
        values = iter_to_end(kafka, topic, client="airbase-poller-secret-check")
        assert all(TOKEN.encode() not in value for _, value in values)
    print(
        f"\nfaults injected: {fired['by_status']}"
        f"\nseed {seed}: {KILLS} kills after {kills} committed facts ({unpublished} payments "
        f"not yet published at each); {len(facts)} facts for "
        f"{len(wanted)} payments in Airbase; test took {time.monotonic() - started:.0f} s"
    )
