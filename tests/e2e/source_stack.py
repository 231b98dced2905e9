"""The Visma source as processes: sandbox, credential store, poller and (optionally) ingress.

Every stack has its own topic prefix, credentials topic and master key, so tests share one
broker without seeing each other.
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from chassis.kafka.state import iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.topics import visma_topic
from mlc.processes import Child, python_module
from mlc.stack import start_sandbox
from visma_client.entities import VISMA_ENTITIES

TENANTS = ("tenant-se-1", "tenant-no-1", "tenant-dk-1")
CLIENT_SECRET = "mlc-demo-secret"
WEBHOOK_SECRET = "whsec-" + "7f3a9c2e5b1d4068"
SERDE = AvroSerde(SchemaCatalog.load())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SourceStack:
    kafka: str
    state_dir: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    children: dict[str, Child] = field(default_factory=dict)
    base_url: str = ""
    master_key: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode())
    health_port: int = field(default_factory=free_port)

    @property
    def prefix(self) -> str:
        return f"run.{self.run_id}."

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "MLC_MASTER_KEY": self.master_key,
            "MLC_CREDENTIALS_TOPIC": f"{self.prefix}state.credentials.v1",
            **extra,
        }

    def start_sandbox(self, *args: str) -> None:
        sandbox, self.base_url = start_sandbox(self.state_dir, "--port", "0", *args)
        self.children["sandbox"] = sandbox

    def store_client_secret(self) -> None:
        """`mlc secrets set`, as an operator does it: the value on stdin, never in argv."""
        subprocess.run(
            [sys.executable, "-m", "mlc.cli", "secrets", "set", "visma/mlc-demo"],
            input=CLIENT_SECRET.encode(), env=os.environ | self.env(), check=True, timeout=60,
            capture_output=True,
        )  # fmt: skip

    def start_poller(
        self, companies: list[dict[str, Any]], *, overlap_seconds: float = 120, **env: str
    ) -> Child:
        config = {
            "token_url": f"{self.base_url}/visma/connect/token",
            "api_base": f"{self.base_url}/visma",
            "request_timeout_seconds": 5,
            "overlap_seconds": overlap_seconds,
            "companies": companies,
        }
        path = self.state_dir / "visma.yaml"
        path.write_text(yaml.safe_dump(config))
        child = Child(
            "visma-poller",
            python_module("visma_poller", "--config", str(path), "--topic-prefix", self.prefix,
                          "--transactional-id", f"run-{self.run_id}-poller"),
            self.state_dir / "visma-poller.log",
            self.env(MLC_HEALTH_PORT=str(self.health_port), **env),
        ).start()  # fmt: skip
        self.children["visma-poller"] = child
        child.wait_for_log('"msg": "started"', timeout=120)
        return child

    def start_ingress(self) -> str:
        port = free_port()
        child = Child(
            "ingress", python_module("ingress", "--port", str(port), "--host", "127.0.0.1"),
            self.state_dir / "ingress.log",
            self.env(MLC_INGRESS_VISMA_WEBHOOK_SECRET=WEBHOOK_SECRET,
                     MLC_INGRESS_VISMA_TOPIC=f"{self.prefix}visma.notification.v1"),
        ).start()  # fmt: skip
        self.children["ingress"] = child
        child.wait_for_log('"msg": "listening"', timeout=60)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for child in reversed(list(self.children.values())):
            child.stop()

    # ---- the sandbox and the topics -------------------------------------------------------

    def sandbox(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.base_url}/visma{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def versions_in_sandbox(self) -> set[str]:
        """entity type / tenant / entity id @ lastModified millis of every record there is."""
        from visma_poller.mapping import entity_event

        found = set()
        for entity, spec in VISMA_ENTITIES.items():
            for raw in self.sandbox("GET", f"/_sandbox/entities/{entity}"):
                dto = spec.model.model_validate(raw)
                event = entity_event(entity, dto, tenant_id=raw["company"],
                                     company_id=raw["company"], observed_at=_now())  # fmt: skip
                found.add(event.event_id)
        return found

    def published(self, entities: list[str] | None = None) -> Counter[str]:
        """How often each event id is on the run's entity topics (read_committed)."""
        settings = KafkaSettings(bootstrap_servers=self.kafka)
        counts: Counter[str] = Counter()
        for entity in entities or list(VISMA_ENTITIES):
            topic = self.prefix + visma_topic(entity).name
            for _, value in iter_to_end(settings, topic, client=f"test-{uuid.uuid4().hex[:6]}"):
                counts[SERDE.decode(value)[1]["event_id"]] += 1
        return counts

    def metrics(self) -> dict[str, float]:
        text = httpx.get(f"http://127.0.0.1:{self.health_port}/metrics", timeout=10).text
        totals: dict[str, float] = Counter()
        for line in text.splitlines():
            if line.startswith("mlc_visma_") and not line.startswith("#"):
                name = line.split("{", 1)[0].split(" ", 1)[0]
                totals[name] += float(line.rsplit(" ", 1)[1])
        return dict(totals)

    def wait_until_published(self, want: set[str], timeout: float) -> Counter[str]:
        deadline = time.monotonic() + timeout
        while True:
            for child in self.children.values():
                child.check()
            published = self.published()
            if set(published) >= want:
                return published
            if time.monotonic() > deadline:
                missing = want - set(published)
                raise AssertionError(f"{len(missing)} of {len(want)} changes never published, "
                                     f"e.g. {sorted(missing)[:3]}")  # fmt: skip
            time.sleep(1.0)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def company(tenant: str, **overrides: Any) -> dict[str, Any]:
    return {"tenant_id": tenant, "company_id": tenant, "client_id": "mlc-demo",
            "credential": "visma/mlc-demo", **overrides}  # fmt: skip


def random_token() -> str:
    return secrets.token_hex(8)
