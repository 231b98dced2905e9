"""SIGKILL of the bill-poller between pages, five times, on the real broker: every version of
every vendor and bill BILL holds is published once, none lost, none twice, records changed
while it pages and while it is down included (three vendors each time).

The BILL sandbox serves an organization seeded with 400 vendors and 800 bills (a firm that
used BILL before connecting it) and answers each call 0.15 s late, so a poll of 1,200
records is 12 list pages and 60 transactions of 20 records: kills land between them. The
poller runs as `python -m bill_poller` with its credentials from a vault on the broker, is
killed at a random moment after its next commit, vendors change meanwhile, and it restarts.
Its password and devKey appear in none of its logs and none of the topics it writes.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import ensure_topics
from chassis.vault import MasterKey, VaultSettings, vault_from_environment
from events.bill import BILL_BILLS, BILL_VENDORS
from sandbox import SandboxConfig, create_app
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_PASSWORD, DEMO_USERNAME

pytestmark = pytest.mark.integration

KILLS = 5
SERDE = AvroSerde(SchemaCatalog.load())
ORG = DEMO_ORGANIZATION_ID


@contextmanager
def bill_sandbox() -> Iterator[str]:
    """The sandbox under uvicorn on a loopback socket (real time); yields its BILL base URL."""
    config = SandboxConfig.model_validate({"bill": {
        "request_latency_seconds": 0.15,
        "organizations": [{
            "id": ORG, "name": "Nordisk Demo ApS",
            "users": [{"username": DEMO_USERNAME, "password": DEMO_PASSWORD}],
            "seed": {"vendors": 400, "unmatched_vendors": 0, "bills_per_vendor": 2},
        }],
    }})  # fmt: skip
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    host, port = listener.getsockname()
    try:
        yield f"http://{host}:{port}/bill"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def published(kafka: KafkaSettings, topic: str) -> list[str]:
    """Every committed fact's version (key@updated millis)."""
    versions = []
    for key, value in iter_to_end(kafka, topic, client="bill-poller-kill-check"):
        record = SERDE.decode(value)[1]
        versions.append(f"{key}@{int(record['updated_time'].timestamp() * 1000)}")
    return versions


def in_bill(admin: httpx.Client, entity: str) -> set[str]:
    records = admin.get(f"/organizations/{ORG}/{entity}s").raise_for_status().json()
    return {f"{ORG}/{r['id']}@{_millis(r['updatedTime'])}" for r in records}


def _millis(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def change_some(admin: httpx.Client, rng: random.Random, vendor_ids: list[str]) -> None:
    for vendor_id in rng.sample(vendor_ids, 3):
        email = f"changed-{rng.randrange(1 << 20)}@x.example"
        admin.patch(f"/organizations/{ORG}/vendors/{vendor_id}", json={"email": email}
                    ).raise_for_status()  # fmt: skip


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_sigkill_between_pages_repeats_and_loses_nothing(
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
    vault.put("bill/password", SecretStr(DEMO_PASSWORD))
    vault.put("bill/devkey", SecretStr(DEMO_DEV_KEY))
    log = tmp_path / "bill-poller.log"
    config = tmp_path / "bill-poller.yaml"
    config.write_text(
        "tenants:\n  tenant-dk-1:\n    organizations:\n"
        f"      - organization_id: '{ORG}'\n        username: {DEMO_USERNAME}\n"
        "        password_credential: bill/password\n        dev_key_credential: bill/devkey\n"
        "every_seconds: 1\noverlap_seconds: 60\npage_size: 20\n",
        encoding="utf-8",
    )
    env = {
        **os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "MLC_MASTER_KEY": master,
        "MLC_CREDENTIALS_TOPIC": vault_settings.credentials_topic,
        "MLC_BILL_POLLER_TRANSACTIONAL_ID": f"bill-poller-{unique}", "MLC_HEALTH_PORT": "0",
    }  # fmt: skip
    vendors_topic, bills_topic = f"{prefix}{BILL_VENDORS.name}", f"{prefix}{BILL_BILLS.name}"
    ensure_topics(
        AdminClient(kafka.client_config("bill-poller-kill-test")),
        [replace(BILL_VENDORS, name=vendors_topic), replace(BILL_BILLS, name=bills_topic)],
        replication_factor=kafka.replication_factor,
    )

    with bill_sandbox() as base, httpx.Client(base_url=f"{base}/_sandbox", timeout=30) as admin:

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "bill_poller", "--config", str(config),
                 "--api-base", f"{base}/connect/v3", "--events-base", f"{base}/connect-events/v3",
                 "--topic-prefix", prefix],
                env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
            )  # fmt: skip

        def running() -> None:
            if poller.poll() is not None:
                output = log.read_text(encoding="utf-8", errors="replace")
                raise AssertionError(f"the poller stopped: {output[-3000:]}")

        def committed() -> int:
            return len(published(kafka, vendors_topic)) + len(published(kafka, bills_topic))

        vendor_ids = [v["id"] for v in admin.get(f"/organizations/{ORG}/vendors").json()]
        poller = start()
        kills: list[int] = []
        try:
            for _ in range(KILLS):
                before = committed() if kills else 0
                wait_until(lambda b=before: running() or committed() > b, timeout=90,  # type: ignore[misc]
                           what="progress after a (re)start")  # fmt: skip
                change_some(admin, rng, vendor_ids)  # while it pages
                time.sleep(rng.uniform(0.0, 0.6))
                poller.send_signal(signal.SIGKILL)
                poller.wait(timeout=10)
                kills.append(committed())
                change_some(admin, rng, vendor_ids)  # while it is down
                poller = start()
            assert kills[-1] < 1200, "the kills came after the first poll ended"
            wanted = in_bill(admin, "vendor") | in_bill(admin, "bill")
            wait_until(
                lambda: set(published(kafka, vendors_topic) + published(kafka, bills_topic))
                >= wanted, timeout=120, what="every version BILL holds",
            )  # fmt: skip
        finally:
            poller.send_signal(signal.SIGTERM)
            try:
                poller.wait(timeout=20)
            except subprocess.TimeoutExpired:
                poller.kill()
        versions = published(kafka, vendors_topic) + published(kafka, bills_topic)
        twice = [v for v, n in Counter(versions).items() if n > 1]
        assert twice == [], f"published twice: {twice[:5]}"
        assert set(versions) >= wanted  # and the versions changed again before a poll
    output = log.read_bytes()
    for secret in (DEMO_PASSWORD, DEMO_DEV_KEY):  # logs and the facts never hold one
        assert secret.encode() not in output
        for topic in (vendors_topic, bills_topic, f"{prefix}state.poll-cursor.v1"):
            values = iter_to_end(kafka, topic, client="bill-poller-secret-check")
            assert all(secret.encode() not in value for _, value in values)
    print(
        f"\nseed {seed}: {KILLS} kills after {kills} committed facts; {len(versions)} facts "
        f"for {len(wanted)} versions in BILL; test took {time.monotonic() - started:.0f} s"
    )
