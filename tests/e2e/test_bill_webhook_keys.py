"""BILL webhooks end to end: subscribe, deliver, rotate, deliver, and no key in clear anywhere.

The sandbox and the ingress run as processes on the real broker; `mlc bill subscribe` and
`mlc bill rotate-key` run as an operator runs them. The running ingress must verify the
events signed with the first key, pick the rotated key up from the vault without a restart,
and store every event once. Then both keys are searched for in every topic of the run, every
file under its state directory (the processes' logs included) and the commands' output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from chassis.kafka.state import iter_to_end
from chassis.settings import KafkaSettings
from chassis.vault import CredentialVault, KafkaCredentialLog, KeyRing
from ingress.bill_keys import read_keys
from mlc.stack import FlowStack, free_port
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_PASSWORD, DEMO_USERNAME

pytestmark = pytest.mark.e2e

ORG = DEMO_ORGANIZATION_ID


def run_mlc_bill(stack: FlowStack, *argv: str) -> str:
    env = os.environ | stack.credentials().env_for("ingress")
    done = subprocess.run(
        [sys.executable, "-m", "mlc.cli", "bill", *argv, "--username", DEMO_USERNAME,
         "--api-base", f"{stack.base_url}/bill/connect/v3",
         "--events-base", f"{stack.base_url}/bill/connect-events/v3"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def change_records(stack: FlowStack, number: str) -> None:
    admin = f"{stack.base_url}/bill/_sandbox"
    vendor = httpx.post(f"{admin}/organizations/{ORG}/vendors", json={"name": f"Lev {number}"})
    bill = {
        "vendorId": vendor.json()["id"],
        "invoice": {"invoiceNumber": number, "invoiceDate": "2026-03-01"},
        "dueDate": "2026-03-31",
        "billLineItems": [{"amount": 99.5, "description": "Varer"}],
    }
    assert httpx.post(f"{admin}/organizations/{ORG}/bills", json=bill).status_code == 201
    assert httpx.post(f"{admin}/webhooks/drain", timeout=60).is_success


def records(kafka: KafkaSettings, topic: str, run_id: str) -> list[tuple[Any, bytes]]:
    return list(iter_to_end(kafka, topic, client=f"bill-e2e-{run_id}"))


def wait_for(kafka: KafkaSettings, topics: list[str], counts: list[int], stack: FlowStack) -> None:
    deadline = time.monotonic() + 60
    while [len(records(kafka, t, stack.run_id)) for t in topics] != counts:
        stack.check_alive()
        assert time.monotonic() < deadline, f"{topics} never held {counts} records"
        time.sleep(0.5)


def test_subscribe_deliver_rotate_deliver_and_no_key_in_clear(make_stack: Any) -> None:
    started = time.monotonic()
    # BILL retries a refused delivery after a minute: a delivery signed with the new key
    # before the ingress may read the vault again (every 5 s at most) is taken at its retry.
    stack: FlowStack = make_stack(invoices=0, sandbox_args=("--clock-speed", "30"))
    stack.start_sandbox()
    stack.ingress_port = free_port()
    stack.start("ingress").wait_for_log("listening", timeout=60)
    kafka = KafkaSettings()
    demo = stack.credentials()
    vault = CredentialVault(
        KafkaCredentialLog(kafka, topic=demo.topic, client=f"bill-e2e-{stack.run_id}"),
        KeyRing(demo.key),
    )
    vault.put(f"bill/{ORG}/password", SecretStr(DEMO_PASSWORD))  # `mlc secrets set`
    vault.put("bill/devkey", SecretStr(DEMO_DEV_KEY))
    topics = [f"{stack.topics.prefix}bill.vendor.v1", f"{stack.topics.prefix}bill.bill.v1"]
    url = f"http://127.0.0.1:{stack.ingress_port}/webhooks/bill"

    said = run_mlc_bill(stack, "subscribe", "--org", ORG, "--tenant", "tenant-dk-1", "--url", url)
    subscription_id = said.split("subscription ")[1].split(",")[0]
    change_records(stack, "F-1")
    wait_for(kafka, topics, [1, 1], stack)
    said += run_mlc_bill(stack, "rotate-key", "--subscription", subscription_id, "--overlap", "1h")
    change_records(stack, "F-2")  # signed with the new key: the running ingress reads the vault
    wait_for(kafka, topics, [2, 2], stack)

    vault.load()
    keys = read_keys(vault, subscription_id)
    assert keys.previous is not None
    secrets = [keys.current.get_secret_value(), keys.previous.get_secret_value()]
    scanned = [demo.topic, *topics]
    for topic in scanned:
        for key, value in records(kafka, topic, stack.run_id):
            for secret in secrets:
                assert secret.encode() not in value + (key or "").encode(), f"{topic}: in clear"
    files = [p for p in stack.state_dir.rglob("*") if p.is_file()]
    assert {"ingress.log", "sandbox.log"} <= {p.name for p in files}
    for path in files:
        for secret in secrets:
            assert secret.encode() not in path.read_bytes(), f"{path.name} holds the key"
    assert all(secret not in said for secret in secrets)
    took = time.monotonic() - started
    print(f"\nsubscribed, 2 events, rotated, 2 more, no key in clear: {took:.0f} s")
