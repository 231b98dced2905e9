"""A BILL securityKey never appears in clear in a topic, a log or a file, on the real broker.

`mlc bill subscribe` stores the key BILL shows once in the vault (a credentials topic of
its own here), the BILL sandbox delivers signed vendor and bill events to the ingress (in
process, storing to topics of its own through the real producer), `mlc bill rotate-key`
rotates it and more events follow. Then every topic involved, every file under the run's
state directory and every log line (the product's JSON log, and the raw records) are
searched for both keys, as the Visma secrets are.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from chassis.jsonlog import JsonFormatter
from chassis.kafka.async_producer import AsyncProducer
from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics
from chassis.vault import CredentialVault, KafkaCredentialLog, KeyRing, MasterKey
from ingress.app import create_app as create_ingress
from ingress.bill_keys import read_keys
from ingress.bill_route import BillKeys
from ingress.config import IngressSettings
from mlc.cli import parser
from sandbox import SandboxConfig
from sandbox import create_app as create_sandbox
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_PASSWORD, DEMO_USERNAME

pytestmark = pytest.mark.integration

ORG = DEMO_ORGANIZATION_ID
ADMIN = f"/bill/_sandbox/organizations/{ORG}"
BASES = ["--api-base", "http://sandbox/bill/connect/v3",
         "--events-base", "http://sandbox/bill/connect-events/v3"]  # fmt: skip


PRODUCT_PACKAGES = {"chassis", "ingress", "mlc", "bill_client", "sandbox"}


@pytest.fixture
def product_log(tmp_path: Path) -> Iterator[Path]:
    """Every log line of the test as the product writes it (JSON, redacted) into a file."""
    path = tmp_path / "state" / "ingress.log"
    path.parent.mkdir()
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter("ingress"))
    root = logging.getLogger()
    # On each product package's logger, not only the root: a library or a service's
    # configure_logging in the same worker may replace the root's handlers mid-run.
    owners = [logging.getLogger(name) for name in sorted(PRODUCT_PACKAGES)]
    for owner in owners:
        owner.addHandler(handler)
    level, root.level = root.level, logging.DEBUG
    # Another test in the same worker may have left a logger disabled or raised its level (a
    # library's logging.config call disables existing loggers): the product's lines must reach
    # the file, or the search below would find nothing for want of lines, not of secrets.
    saved = [
        (logger, logger.disabled, logger.level)
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger, _, _ in saved:
        logger.disabled = False
        if logger.level > logging.DEBUG and logger.name.split(".")[0] in PRODUCT_PACKAGES:
            logger.setLevel(logging.NOTSET)
    switched_off = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    yield path
    logging.disable(switched_off)
    for logger, was_disabled, was_level in saved:
        logger.disabled = was_disabled
        logger.setLevel(was_level)
    for owner in owners:
        owner.removeHandler(handler)
    handler.close()
    root.setLevel(level)


async def change_records(sandbox: httpx.AsyncClient, number: str) -> None:
    vendor = (await sandbox.post(f"{ADMIN}/vendors", json={"name": f"Leverandør {number}"})).json()
    bill = {
        "vendorId": vendor["id"],
        "invoice": {"invoiceNumber": number, "invoiceDate": "2026-03-01"},
        "dueDate": "2026-03-31",
        "billLineItems": [{"amount": 99.5, "description": "Varer"}],
    }
    assert (await sandbox.post(f"{ADMIN}/bills", json=bill)).status_code == 201
    assert (await sandbox.post("/bill/_sandbox/webhooks/drain")).is_success


def assert_not_in_topics_or_files(
    secrets: list[str], stored: dict[str, list[Any]], state_dir: Path
) -> None:
    for topic, records in stored.items():
        for key, value in records:
            blob = value + (key or "").encode()
            for secret in secrets:
                assert secret.encode() not in blob, f"{topic} holds the key in clear"
    files = [path.read_bytes() for path in state_dir.rglob("*") if path.is_file()]
    for secret in secrets:
        assert all(secret.encode() not in content for content in files), "a file holds the key"


def test_the_security_key_is_nowhere_in_clear(
    kafka_bootstrap: str,
    unique: str,
    tmp_path: Path,
    product_log: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    ring = KeyRing(MasterKey.generate())
    credentials = f"it.{unique}.state.credentials.v1"
    topics = [f"it.{unique}.bill.vendor.v1", f"it.{unique}.bill.bill.v1"]
    ensure_topics(AdminClient(kafka.client_config("bill-secrecy")),
                  [TopicSpec(t, partitions=2) for t in topics])  # fmt: skip

    def vault() -> CredentialVault:
        log = KafkaCredentialLog(kafka, topic=credentials, client=f"bill-secrecy-{unique}")
        log.ensure_topic()
        return CredentialVault(log, ring)

    operator = vault()
    operator.put(f"bill/{ORG}/password", SecretStr(DEMO_PASSWORD))  # `mlc secrets set`
    operator.put("bill/devkey", SecretStr(DEMO_DEV_KEY))
    producer = AsyncProducer(kafka, "bill-secrecy-ingress")
    ingress = create_ingress(
        settings=IngressSettings(bill_vendor_topic=topics[0], bill_bill_topic=topics[1]),
        send=producer.send,
        serde=AvroSerde(SchemaCatalog.load()),
        bill_keys=BillKeys(vault=vault, refresh_seconds=0),
    )
    to_ingress = httpx.AsyncClient(transport=httpx.ASGITransport(app=ingress))
    config = SandboxConfig.model_validate({"clock_start": datetime(2026, 3, 2, 10, tzinfo=UTC)})
    bill_api = httpx.ASGITransport(app=create_sandbox(config, webhook_client=to_ingress))

    def mlc_bill(*argv: str) -> str:
        args = parser("bill").parse_args(["bill", *argv, "--username", DEMO_USERNAME, *BASES])
        out = io.StringIO()
        assert args.func(args, vault=vault(), transport=bill_api, out=out) == 0
        return out.getvalue()

    async def run() -> tuple[str, str]:
        # One event loop, as in the ingress process; the commands run as their own processes
        # would, with a loop of their own (a thread here).
        said = await asyncio.to_thread(
            mlc_bill, "subscribe", "--org", ORG, "--tenant", "tenant-dk-1",
            "--url", "http://ingress/webhooks/bill",
        )  # fmt: skip
        subscription_id = said.split("subscription ")[1].split(",")[0]
        async with httpx.AsyncClient(transport=bill_api, base_url="http://sb") as sandbox:
            await change_records(sandbox, "F-1")
            said += await asyncio.to_thread(
                mlc_bill, "rotate-key", "--subscription", subscription_id, "--overlap", "1h"
            )
            await change_records(sandbox, "F-2")
        await to_ingress.aclose()
        return said, subscription_id

    try:
        said, subscription_id = asyncio.run(run())
    finally:
        producer.close()

    reader = vault()
    reader.load()
    keys = read_keys(reader, subscription_id)
    assert keys.previous is not None
    secrets = [keys.current.get_secret_value(), keys.previous.get_secret_value()]
    stored: dict[str, list[Any]] = {
        t: list(iter_to_end(kafka, t, client=f"scan-{unique}")) for t in [credentials, *topics]
    }
    # Four events, each delivered, verified and stored: the scan has something to search.
    assert [len(stored[t]) for t in topics] == [2, 2]
    assert_not_in_topics_or_files(secrets, stored, tmp_path)
    vault_logger = logging.getLogger("chassis.vault")
    assert product_log.read_text(), (  # the run logged (vault writes at least)
        f"no product log line: root handlers {logging.getLogger().handlers}, chassis.vault "
        f"disabled={vault_logger.disabled} level={vault_logger.getEffectiveLevel()}"
    )
    for secret in secrets:
        assert secret not in said
        assert secret not in caplog.text
        assert all(secret not in str(vars(record)) for record in caplog.records)
