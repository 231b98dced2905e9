"""The first flow as separate processes on topics of their own: sandbox, poller, processor, sink.

`mlc demo` and the end-to-end tests both stand it up through this module, so what the demo
shows is what the tests check. Each stack gets fresh topic, group and transactional ids, so
runs never see each other's data on a shared broker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from mlc.processes import Child, ProcessError, python_module
from processor.routing import route
from processor.rules import RuleSet
from visma_client.models import SupplierInvoiceDto
from visma_poller.mapping import supplier_invoice_event

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "services/processor/rules.example.yaml"
DEMO_TENANTS = ("tenant-se-1", "tenant-no-1", "tenant-dk-1")
SERVICES = ("visma-poller", "processor", "slack-sink")
SANDBOX_SECRETS = {
    "VISMA_CLIENT_SECRET": "mlc-demo-secret",
    "SLACK_BOT_TOKEN": "xoxb-mlc-demo-token",
}


def start_sandbox(state_dir: Path, *args: str) -> tuple[Child, str]:
    """Starts `python -m sandbox ARGS`, logging to state_dir; returns it and its base URL."""
    state_dir.mkdir(parents=True, exist_ok=True)
    sandbox = Child("sandbox", python_module("sandbox", *args), state_dir / "sandbox.log").start()
    sandbox.wait_for_log("sandbox listening", timeout=60)
    found = re.search(r"sandbox listening on (http://\S+)", sandbox.log_path.read_text())
    if found is None:
        sandbox.stop()
        raise ProcessError("the sandbox did not say where it listens")
    return sandbox, found.group(1)


@dataclass(frozen=True)
class FlowTopics:
    events: str
    commands: str
    cursors: str
    ledger: str

    prefix: str

    @classmethod
    def for_run(cls, run_id: str) -> FlowTopics:
        prefix = f"run.{run_id}."
        return cls(
            events=f"{prefix}visma.supplier-invoice.v1",
            commands=f"{prefix}sink.slack.v1",
            cursors=f"{prefix}state.poll-cursor.v1",
            ledger=f"{prefix}state.slack-ledger.v1",
            prefix=prefix,
        )


@dataclass(frozen=True)
class Expected:
    invoices: int
    commands: dict[str, str]  # command id -> channel
    below_threshold: int


@dataclass
class FlowStack:
    run_id: str
    state_dir: Path
    rules: Path = DEFAULT_RULES
    invoices: int = 25
    seed: int = 42
    port: int = 0
    poll_interval: float = 10.0
    page_size: int = 100
    sandbox_args: tuple[str, ...] = ()
    entities: tuple[str, ...] = ("supplierInvoice", "supplier")
    """Suppliers too: the processor enriches invoices with the vendor's name and category."""
    children: dict[str, Child] = field(default_factory=dict)
    base_url: str = ""

    @property
    def topics(self) -> FlowTopics:
        return FlowTopics.for_run(self.run_id)

    def start_sandbox(self) -> str:
        sandbox, self.base_url = start_sandbox(
            self.state_dir, "--port", str(self.port), "--invoices", str(self.invoices),
            "--seed", str(self.seed), *self.sandbox_args,
        )  # fmt: skip
        self.children["sandbox"] = sandbox
        return self.base_url

    def start_services(
        self, names: Iterable[str] = ("visma-poller", "processor", "slack-sink")
    ) -> None:
        for name in names:
            self.start(name)

    def start(self, name: str) -> Child:
        """Starts (or restarts) one service; its log file keeps every life of it."""
        child = self._child(name).start()
        self.children[name] = child
        return child

    def _child(self, name: str) -> Child:
        t = self.topics
        env = SANDBOX_SECRETS | {
            "MLC_PROCESSOR_APP_ID": f"run-{self.run_id}-processor",
            "MLC_PROCESSOR_TOPIC_PREFIX": t.prefix,
        }
        log = self.state_dir / f"{name}.log"
        if name == "visma-poller":
            config = self.state_dir / "visma.yaml"
            config.write_text(yaml.safe_dump(self.poller_config()))
            argv = python_module(
                "visma_poller",
                "--config",
                str(config),
                "--transactional-id",
                f"run-{self.run_id}-poller",
                "--topic-prefix",
                self.topics.prefix,
                "--entities",
                ",".join(self.entities),
            )
        elif name == "processor":
            argv = python_module("processor", "--rules", str(self.rules))
        elif name == "slack-sink":
            argv = python_module(
                "slack_sink",
                "--api-base",
                f"{self.base_url}/slack/api",
                "--group-id",
                f"run-{self.run_id}-sink",
                "--commands-topic",
                t.commands,
                "--ledger-topic",
                t.ledger,
            )
        else:
            raise ValueError(f"no service {name}")
        return Child(name, argv, log, env)

    def poller_config(self) -> dict[str, Any]:
        return {
            "token_url": f"{self.base_url}/visma/connect/token",
            "api_base": f"{self.base_url}/visma",
            "companies": [
                {
                    "tenant_id": t,
                    "company_id": t,
                    "client_id": "mlc-demo",
                    "client_secret_env": "VISMA_CLIENT_SECRET",
                    "poll_interval_seconds": self.poll_interval,
                    "hourly_budget": 500,
                    "page_size": self.page_size,
                }
                for t in DEMO_TENANTS
            ],
        }

    def check_alive(self) -> None:
        for child in self.children.values():
            child.check()

    def stop(self) -> None:
        for child in reversed(list(self.children.values())):
            child.stop()

    # ---- what the sandbox says -------------------------------------------------------------

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.base_url}{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def expected(self, rules: RuleSet) -> Expected:
        """The Slack messages the rules call for, computed from the sandbox's invoices."""
        invoices = self.get("/visma/_sandbox/invoices")
        commands: dict[str, str] = {}
        below = 0
        for raw in invoices:
            event = supplier_invoice_event(
                SupplierInvoiceDto.model_validate(raw),
                tenant_id=raw["company"],
                company_id=raw["company"],
                observed_at=datetime.now(UTC),
            )
            routed = route(event, rules)
            below += not routed
            commands.update({c.command_id: c.channel for c in routed})
        return Expected(len(invoices), commands, below)

    def posted(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.get("/slack/_sandbox/messages")
        return messages


def command_ids(messages: list[dict[str, Any]]) -> list[str]:
    """The command id each posted message carries in its metadata."""
    ids = []
    for m in messages:
        meta = m.get("metadata")
        payload = meta.get("event_payload") if isinstance(meta, dict) else None
        if isinstance(payload, dict) and "command_id" in payload:
            ids.append(str(payload["command_id"]))
    return ids
