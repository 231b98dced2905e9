"""The first flow as separate processes on topics of their own: sandbox, poller, processor, sink.

`mlc demo` and the end-to-end tests both stand it up through this module, so what the demo
shows is what the tests check. Each stack gets fresh topic, group and transactional ids, so
runs never see each other's data on a shared broker.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import SecretStr

from chassis.kafka.state import StateLoadError, iter_to_end
from chassis.serde import AvroSerde, SchemaCatalog
from chassis.settings import KafkaSettings
from events.approvals import APPROVAL_SIGNALS
from events.notifications import VISMA_NOTIFICATIONS
from mlc.airbase_payments_run import payments_argv, payments_mapping
from mlc.airbase_poller_run import (
    POLL_CALLS_PER_HOUR,
    POLL_EVERY_SECONDS,
    poller_argv,
    poller_file,
)
from mlc.bill_stack import BillFlow, BillRun
from mlc.bill_stack import subscribe as subscribe_bill
from mlc.demo_vault import (
    MONDAY_CREDENTIAL,
    MONDAY_SIGNING_CREDENTIAL,
    SENDGRID_CREDENTIAL,
    SLACK_BOT_CREDENTIAL,
    SLACK_SIGNING_CREDENTIAL,
    TWILIO_AUTH_CREDENTIAL,
    VISMA_CREDENTIAL,
    VISMA_WEBHOOK_CREDENTIAL,
    DemoVault,
    airbase_credential,
)
from mlc.processes import Child, ProcessError, python_module
from processor.routing import route
from processor.rules import RuleSet
from sandbox.airbase.config import demo_token as airbase_demo_token
from sandbox.monday.config import DEMO_MONDAY_TOKEN, DEMO_SIGNING_SECRET
from sandbox.twilio.config import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    DEMO_FROM,
    DEMO_SENDGRID_KEY,
)
from visma_client.models import SupplierInvoiceDto
from visma_poller.mapping import supplier_invoice_event

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "services/processor/rules.example.yaml"
DEMO_TENANTS = ("tenant-se-1", "tenant-no-1", "tenant-dk-1")
SERVICES = ("visma-poller", "processor", "slack-sink")
APPROVAL_SERVICES = (*SERVICES, "ingress", "approvals", "visma-writer")
"""The first flow plus approvals from Slack: Slack events in, Visma actions out."""
SANDBOX_SLACK_SIGNING_SECRET = "mlc-demo-signing-secret"  # noqa: S105 - the sandbox's default
SANDBOX_VISMA_WEBHOOK_KEY = "mlc-demo-visma-webhook-key"
"""The key the run's Visma webhook subscriptions sign with (`subscribe_visma`)."""
SANDBOX_SECRETS = {
    "VISMA_CLIENT_SECRET": "mlc-demo-secret",
    "SLACK_BOT_TOKEN": "xoxb-mlc-demo-token",
    "TWILIO_AUTH_TOKEN": DEMO_AUTH_TOKEN,
    "SENDGRID_API_KEY": DEMO_SENDGRID_KEY,
    "MONDAY_API_TOKEN": DEMO_MONDAY_TOKEN,
}
"""The sandbox's own credentials (stored in the run's vault, never handed to a child)."""


def state_root() -> Path:
    """Where local runs write: `MLC_STATE_DIR`, as deploy/kafka/kafka.sh reads it, else .state/."""
    return Path(os.environ.get("MLC_STATE_DIR") or ROOT / ".state")


def free_port() -> int:
    """A local TCP port nobody listens on now (for the ingress the sandbox calls back)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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

    @property
    def slack_events(self) -> str:
        return f"{self.prefix}slack.event.v1"

    @property
    def twilio_sms(self) -> str:
        return f"{self.prefix}sink.twilio-sms.v1"

    @property
    def twilio_email(self) -> str:
        return f"{self.prefix}sink.twilio-email.v1"

    @property
    def twilio_sms_ledger(self) -> str:
        return f"{self.prefix}state.twilio-sms-ledger.v1"

    @property
    def twilio_email_ledger(self) -> str:
        return f"{self.prefix}state.twilio-email-ledger.v1"

    @property
    def monday_commands(self) -> str:
        return f"{self.prefix}sink.monday.v1"

    @property
    def monday_ledger(self) -> str:
        return f"{self.prefix}state.monday-ledger.v1"

    @property
    def monday_items(self) -> str:
        return f"{self.prefix}monday.item.v1"

    @property
    def airbase_commands(self) -> str:
        return f"{self.prefix}sink.airbase.v1"

    @property
    def airbase_ledger(self) -> str:
        return f"{self.prefix}state.airbase-ledger.v1"

    @property
    def twilio_statuses(self) -> str:
        return f"{self.prefix}twilio.message-status.v1"

    @property
    def twilio_status_state(self) -> str:
        return f"{self.prefix}state.twilio-message-status.v1"

    @classmethod
    def for_run(cls, run_id: str) -> FlowTopics:
        prefix = f"run.{run_id}."
        return cls(
            events=f"{prefix}visma.supplier-invoice.v1",
            commands=f"{prefix}sink.slack.v1",
            cursors=f"{prefix}state.poll-cursor.v1",
            ledger=f"{prefix}state.slack-ledger.v2",
            prefix=prefix,
        )


@dataclass(frozen=True)
class Expected:
    invoices: int
    commands: dict[str, str]  # command id -> channel
    below_threshold: int
    invoices_by_command: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Command id -> the sandbox's invoice it is about (company, referenceNumber, status...)."""


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
    approvals: dict[str, Any] | None = None
    """The approvals file (`services/approvals/approvals.example.yaml`) for `approvals`."""
    receipts: dict[str, Any] | None = None
    """The receipts file (tenants' monday boards) for `monday-receipts`."""
    receipts_args: tuple[str, ...] = ()
    """More options for `monday-receipts` (`--reconcile-every`...)."""
    ingress_port: int = 0
    """Where `ingress` listens for the sandbox's Slack events (0: not started)."""
    vault: DemoVault | None = None
    """The run's credentials; made on first use, under `state_dir`."""
    twilio_sink_args: tuple[str, ...] = ()
    """More options for the twilio-sink (`--account-cap`, `--request-timeout`...)."""
    monday_mappings: tuple[Path, ...] = ()
    """Mapping files of the monday-sink (`mlc monday map` writes them)."""
    monday_sink_args: tuple[str, ...] = ()
    """More options for the monday-sink (`--batch-over`, `--daily-limit-probe-seconds`...)."""
    airbase_profile: Path | None = None
    """Airbase's paths, field names and auth scheme (UNCONFIRMED, configurable): the sandbox
    serves them (`--airbase-profile`) and the airbase-sink's and airbase-poller's tenants
    speak them."""
    airbase_sink_args: tuple[str, ...] = ()
    """More options for the airbase-sink (`--request-timeout`...)."""
    processor_env: dict[str, str] = field(default_factory=dict)
    """More `MLC_PROCESSOR_*` settings (the demo looks for due digests every few seconds)."""
    visma_hourly_budget: int = 500
    """Visma calls per company and hour the poller and the writer allow themselves (a flow
    test writing hundreds of documents in a minute raises it, with the sandbox's own)."""
    bill: BillFlow = field(default_factory=BillFlow)
    """The BILL side: organizations polled, cadence, the tenant's mapping file."""
    airbase_payments: dict[str, Any] | None = None
    """The airbase-payments mapping file (default: the demo tenants on the Visma sandbox's
    accounts and cost centres, `mlc.airbase_payments_run.payments_mapping`)."""
    airbase_poll_every: float = POLL_EVERY_SECONDS
    """Seconds between the airbase-poller's pulls of each tenant (a webhook pulls at once)."""
    airbase_poll_calls: int = POLL_CALLS_PER_HOUR
    """Calls an hour the airbase-poller's pulls of each tenant may make (spaces them)."""

    @property
    def topics(self) -> FlowTopics:
        return FlowTopics.for_run(self.run_id)

    def start_sandbox(self) -> str:
        sandbox, self.base_url = start_sandbox(
            self.state_dir, "--port", str(self.port), "--invoices", str(self.invoices),
            "--seed", str(self.seed), *self.sandbox_args, *self._airbase_profile_args(),
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
        child = self._child(name)
        if child.env.get("MLC_CREDENTIALS_TOPIC"):
            self.credentials().store(KafkaSettings())
        child.start()
        self.children[name] = child
        return child

    def _child(self, name: str) -> Child:
        t = self.topics
        env = self.credentials().env_for(name)
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
            env |= {
                "MLC_PROCESSOR_APP_ID": f"run-{self.run_id}-processor",
                "MLC_PROCESSOR_TOPIC_PREFIX": t.prefix,
                "MLC_PROCESSOR_DATA_DIR": str(self.state_dir / "processor-data"),
                **self.processor_env,
            }
        elif name in ("approvals", "ingress", "visma-writer"):
            argv, env = self._approval_child(name, env)
        elif name == "monday-receipts":
            argv, env = self._receipts_child(env)
        elif name in ("bill-poller", "bill-mapping"):
            argv, env = self._bill_child(name, env)
        elif name == "airbase-payments":
            config = self.state_dir / "airbase-payments.yaml"
            mapping = self.airbase_payments or payments_mapping(DEMO_TENANTS)
            config.write_text(yaml.safe_dump(mapping))
            argv = payments_argv(run_id=self.run_id, prefix=t.prefix, config=config)
        elif name == "airbase-poller":
            config = self.state_dir / "airbase-poller.yaml"
            config.write_text(yaml.safe_dump(poller_file(
                base_url=self.base_url, tenants=DEMO_TENANTS, every_seconds=self.airbase_poll_every,
                hourly_calls=self.airbase_poll_calls, profile=self.airbase_profile,
            )))  # fmt: skip
            argv, more = poller_argv(run_id=self.run_id, prefix=t.prefix, config=config)
            env |= more
        elif name.endswith("-sink"):
            argv = self._sink_argv(name)
        else:
            raise ValueError(f"no service {name}")
        return Child(name, argv, log, env)

    def _sink_argv(self, name: str) -> list[str]:
        sinks = {
            "slack-sink": self._slack_sink_argv,
            "twilio-sink": self._twilio_sink_argv,
            "monday-sink": self._monday_sink_argv,
            "airbase-sink": self._airbase_sink_argv,
        }
        if name not in sinks:
            raise ValueError(f"no service {name}")
        return sinks[name]()

    def _slack_sink_argv(self) -> list[str]:
        t = self.topics
        return python_module(
            "slack_sink",
            "--api-base",
            f"{self.base_url}/slack/api",
            "--group-id",
            f"run-{self.run_id}-sink",
            "--commands-topic",
            t.commands,
            "--ledger-topic",
            t.ledger,
            "--workspace-credential",
            f"default={SLACK_BOT_CREDENTIAL}",
        )

    def _twilio_sink_argv(self) -> list[str]:
        """SMS and email through the sandbox's Twilio and SendGrid, secrets from the vault;
        status callbacks to the ingress when one is started."""
        t = self.topics
        callback = ("--status-callback", self.twilio_status_url) if self.ingress_port else ()
        return python_module(
            "twilio_sink", "--api-base", f"{self.base_url}/twilio",
            "--sendgrid-base", f"{self.base_url}/sendgrid",
            "--account-sid", DEMO_ACCOUNT_SID, "--auth-credential", TWILIO_AUTH_CREDENTIAL,
            "--from", DEMO_FROM, "--sendgrid-credential", SENDGRID_CREDENTIAL,
            "--email-from", "alerts@mlc-demo.example", "--email-from-name", "ml-connector",
            "--group-id", f"run-{self.run_id}-twilio-sink",
            "--sms-topic", t.twilio_sms, "--email-topic", t.twilio_email,
            "--sms-ledger-topic", t.twilio_sms_ledger,
            "--email-ledger-topic", t.twilio_email_ledger,
            "--status-topic", t.twilio_statuses, "--status-state-topic", t.twilio_status_state,
            *callback, *self.twilio_sink_args,
        )  # fmt: skip

    def _monday_sink_argv(self) -> list[str]:
        """Items on the sandbox's monday boards for the demo tenants, one token from the vault."""
        t = self.topics
        mappings = [arg for path in self.monday_mappings for arg in ("--mapping", str(path))]
        tokens = [arg for tenant in DEMO_TENANTS
                  for arg in ("--tenant-credential", f"{tenant}={MONDAY_CREDENTIAL}")]  # fmt: skip
        return python_module(
            "monday_sink", "--api-base", f"{self.base_url}/monday", *mappings, *tokens,
            "--group-id", f"run-{self.run_id}-monday-sink",
            "--commands-topic", t.monday_commands, "--ledger-topic", t.monday_ledger,
            "--links-topic", t.monday_items, *self.monday_sink_args,
        )  # fmt: skip

    def _airbase_profile_args(self) -> tuple[str, ...]:
        profile = self.airbase_profile
        return () if profile is None else ("--airbase-profile", str(profile))

    def _airbase_sink_argv(self) -> list[str]:
        """Each demo tenant's Airbase account in the sandbox, its token from the vault."""
        t = self.topics
        tenants = self.state_dir / "airbase-sink.yaml"
        tenants.write_text(yaml.safe_dump({"tenants": [
            {"tenant_id": tenant, "company_id": tenant, "api_base": f"{self.base_url}/airbase",
             "credential": airbase_credential(tenant)}
            | ({"profile": str(self.airbase_profile)} if self.airbase_profile else {})
            for tenant in DEMO_TENANTS
        ]}))  # fmt: skip
        return python_module(
            "airbase_sink", "--tenants", str(tenants),
            "--group-id", f"run-{self.run_id}-airbase-sink",
            "--commands-topic", t.airbase_commands, "--ledger-topic", t.airbase_ledger,
            *self.airbase_sink_args,
        )  # fmt: skip

    @property
    def twilio_status_url(self) -> str:
        """Where the sandbox POSTs status callbacks: the ingress, which verifies them."""
        return f"http://127.0.0.1:{self.ingress_port}/webhooks/twilio/status"

    def _approval_child(self, name: str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """Slack events in through the ingress, approvals out to the Visma writer."""
        if name == "visma-writer":
            config = self.state_dir / "visma.yaml"
            config.write_text(yaml.safe_dump(self.poller_config()))
            argv = python_module(
                "visma_writer", "--config", str(config), "--group-id", f"run-{self.run_id}-writer",
                "--commands-topic", f"{self.topics.prefix}sink.visma-writer.v1",
                "--ledger-topic", f"{self.topics.prefix}state.visma-writer-ledger.v2",
                "--replies-topic", self.topics.commands,
                "--review-topic", f"{self.topics.prefix}review.visma-writer.v1",
                "--airbase-topic", f"{self.topics.prefix}sink.airbase.v1",
            )  # fmt: skip
            return argv, env
        if name == "ingress":
            env = env | {
                "MLC_INGRESS_SLACK_SIGNING_SECRET_CREDENTIAL": SLACK_SIGNING_CREDENTIAL,
                "MLC_INGRESS_VISMA_WEBHOOK_SECRET_CREDENTIAL": VISMA_WEBHOOK_CREDENTIAL,
                "MLC_INGRESS_VISMA_TOPIC": self.topics.prefix + VISMA_NOTIFICATIONS.name,
                "MLC_INGRESS_SLACK_TOPIC": self.topics.slack_events,
                "MLC_INGRESS_TWILIO_TOPIC": self.topics.twilio_statuses,
                "MLC_INGRESS_TWILIO_STATUS_CALLBACK_URL": self.twilio_status_url,
                # One demo account: its Auth Token is the vault entry the sink reads too.
                "MLC_INGRESS_TWILIO_AUTH_TOKEN_CREDENTIAL": TWILIO_AUTH_CREDENTIAL,
                "MLC_INGRESS_MONDAY_SIGNING_SECRET_CREDENTIAL": MONDAY_SIGNING_CREDENTIAL,
                "MLC_INGRESS_MONDAY_WEBHOOK_URL": self.monday_webhook_url,
                "MLC_INGRESS_MONDAY_TOPIC": f"{self.topics.prefix}monday.column-change.v1",
                "MLC_INGRESS_BILL_VENDOR_TOPIC": f"{self.topics.prefix}bill.vendor.v1",
                "MLC_INGRESS_BILL_BILL_TOPIC": f"{self.topics.prefix}bill.bill.v1",
                "MLC_INGRESS_AIRBASE_TOPIC": f"{self.topics.prefix}airbase.webhook.v1",
            }
            port = str(self.ingress_port)
            return python_module("ingress", "--host", "127.0.0.1", "--port", port), env
        config = self.state_dir / "approvals.yaml"
        config.write_text(yaml.safe_dump(self.approvals or {}))
        argv = python_module(
            "approvals", "--config", str(config), "--api-base", f"{self.base_url}/slack/api",
            "--group-id", f"run-{self.run_id}-approvals", "--topic-prefix", self.topics.prefix,
            "--workspace-credential", f"default={SLACK_BOT_CREDENTIAL}",
        )  # fmt: skip
        return argv, env

    def _bill_child(self, name: str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """BILL's vendors and bills polled into the run's topics, mapped into Visma writes."""
        run = BillRun(self.run_id, self.state_dir, self.base_url, self.topics.prefix)
        if name == "bill-poller":
            config = self.state_dir / "bill-poller.yaml"
            config.write_text(yaml.safe_dump(self.bill.poller_file()))
            argv, more = run.poller_argv(self.bill, config)
            return argv, env | more
        config = self.state_dir / "bill-mapping.yaml"
        config.write_text(yaml.safe_dump(self.bill.mapping))
        return run.mapping_argv(config), env

    @property
    def bill_webhook_url(self) -> str:
        """The ingress's BILL route, as a subscription's notificationUrl."""
        return f"http://127.0.0.1:{self.ingress_port}/webhooks/bill"

    def subscribe_bill(self, organization: str | None = None) -> str:
        """Points BILL's webhooks for an organization (default: the first) at the ingress
        through `mlc bill subscribe`; returns the subscription id. The ingress must be set."""
        if not self.ingress_port:
            raise ProcessError("start the ingress before subscribing BILL's webhooks to it")
        self.credentials().store(KafkaSettings())
        return subscribe_bill(
            base_url=self.base_url, vault_env=self.credentials().env_for("ingress"),
            flow=self.bill, organization=organization or self.bill.organizations[0],
            url=self.bill_webhook_url,
        )  # fmt: skip

    def start_bill_flow(self, *, subscribe: bool = True, visma_poller: bool = False) -> None:
        """The BILL flow as processes: ingress (subscribed to the sandbox's BILL, unless not
        `subscribe`), bill-poller, bill-mapping and the Visma writer; with `visma_poller` the
        Visma poller too (a `match` tenant pairs vendors with the suppliers it publishes)."""
        if not self.ingress_port:
            self.ingress_port = free_port()
        self.start("ingress").wait_for_log("listening", timeout=60)
        if subscribe:
            for organization in self.bill.organizations:
                self.subscribe_bill(organization)
        names = ["visma-writer", "bill-mapping", "bill-poller"]
        self.start_services(["visma-poller", *names] if visma_poller else names)

    def subscribe_visma(self, *, entities: list[str], companies: list[str]) -> None:
        """Visma tells the ingress when one of these records changes (the visma-poller then
        pulls it at once, outside its cadence): the run's key, which the ingress reads from
        the vault. The ingress must be set."""
        if not self.ingress_port:
            raise ProcessError("start the ingress before subscribing Visma's webhooks to it")
        answer = httpx.post(
            f"{self.base_url}/visma/_sandbox/webhooks",
            json={"url": f"http://127.0.0.1:{self.ingress_port}/webhooks/visma",
                  "secret": SANDBOX_VISMA_WEBHOOK_KEY, "entities": entities,
                  "companies": companies},
            timeout=10,
        )  # fmt: skip
        answer.raise_for_status()

    @property
    def monday_webhook_url(self) -> str:
        """The ingress's monday route as registered with monday (a tenant adds ?tenant=)."""
        return f"http://127.0.0.1:{self.ingress_port}/webhooks/monday"

    def _receipts_child(self, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """Monday column changes in, purchase receipts out to the Visma writer."""
        config = self.state_dir / "receipts.yaml"
        config.write_text(yaml.safe_dump(self.receipts or {}))
        env = env | {"MLC_MONDAY_RECEIPTS_TOKEN_CREDENTIAL": MONDAY_CREDENTIAL}
        argv = python_module(
            "monday_receipts", "--config", str(config), "--api-base", f"{self.base_url}/monday",
            "--group-id", f"run-{self.run_id}-receipts", "--topic-prefix", self.topics.prefix,
            *self.receipts_args,
        )  # fmt: skip
        return argv, env

    def start_with_approvals(
        self, approvals: dict[str, Any], *, events: dict[str, Any] | None = None
    ) -> None:
        """Points the sandbox's Slack Events API at the ingress, then starts every service.

        `approvals` is the approvals file's content; `events` may change the sandbox's
        delivery (`duplicate_rate`, `retry_delays_seconds`...). Returns once the ingress
        listens, so a reaction made next is delivered.
        """
        self.approvals = approvals
        if not self.ingress_port:
            self.ingress_port = free_port()
        url = f"http://127.0.0.1:{self.ingress_port}/webhooks/slack"
        answer = httpx.put(
            f"{self.base_url}/slack/_sandbox/events",
            json={"url": url, **(events or {})},
            timeout=10,
        )
        answer.raise_for_status()
        self.start_services(APPROVAL_SERVICES)
        self.children["ingress"].wait_for_log("listening", timeout=60)

    def poller_config(self) -> dict[str, Any]:
        return {
            "token_url": f"{self.base_url}/visma/connect/token",
            "api_base": f"{self.base_url}/visma",
            "companies": [
                {
                    "tenant_id": t,
                    "company_id": t,
                    "client_id": "mlc-demo",
                    "credential": VISMA_CREDENTIAL,
                    "poll_interval_seconds": self.poll_interval,
                    "hourly_budget": self.visma_hourly_budget,
                    "page_size": self.page_size,
                }
                for t in DEMO_TENANTS
            ],
        }

    def credentials(self) -> DemoVault:
        if self.vault is None:
            self.vault = DemoVault(
                self.state_dir,
                topic=f"{self.topics.prefix}state.credentials.v1",
                values={
                    VISMA_CREDENTIAL: SecretStr(SANDBOX_SECRETS["VISMA_CLIENT_SECRET"]),
                    SLACK_BOT_CREDENTIAL: SecretStr(SANDBOX_SECRETS["SLACK_BOT_TOKEN"]),
                    SLACK_SIGNING_CREDENTIAL: SecretStr(SANDBOX_SLACK_SIGNING_SECRET),
                    TWILIO_AUTH_CREDENTIAL: SecretStr(SANDBOX_SECRETS["TWILIO_AUTH_TOKEN"]),
                    SENDGRID_CREDENTIAL: SecretStr(SANDBOX_SECRETS["SENDGRID_API_KEY"]),
                    MONDAY_CREDENTIAL: SecretStr(SANDBOX_SECRETS["MONDAY_API_TOKEN"]),
                    MONDAY_SIGNING_CREDENTIAL: SecretStr(DEMO_SIGNING_SECRET),
                    VISMA_WEBHOOK_CREDENTIAL: SecretStr(SANDBOX_VISMA_WEBHOOK_KEY),
                    **self.bill.credentials(),
                    **{
                        airbase_credential(t): SecretStr(airbase_demo_token(t))
                        for t in DEMO_TENANTS
                    },
                },
            )
        return self.vault

    def check_alive(self) -> None:
        for child in self.children.values():
            child.check()

    def stop(self) -> None:
        """Every service told to stop at once and waited for, then the sandbox: one by one, a
        demo's twenty services took over a minute to end on a loaded machine."""
        services = [c for name, c in reversed(self.children.items()) if name != "sandbox"]
        for child in services:
            child.terminate()
        for child in services:
            child.stop()
        if "sandbox" in self.children:
            self.children["sandbox"].stop()

    # ---- what the sandbox says -------------------------------------------------------------

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.base_url}{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def expected(self, rules: RuleSet) -> Expected:
        """The Slack messages the rules call for, computed from the sandbox's invoices."""
        invoices = self.get("/visma/_sandbox/invoices")
        commands: dict[str, str] = {}
        about: dict[str, dict[str, Any]] = {}
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
            about.update({c.command_id: raw for c in routed})
        return Expected(len(invoices), commands, below, about)

    def posted(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.get("/slack/_sandbox/messages")
        return messages

    def employees(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's employees with an email (the sandbox makes each a Slack member too)."""
        found: list[dict[str, Any]] = self.get(
            f"/visma/_sandbox/entities/employee?company={tenant}"
        )
        return [e for e in found if (e.get("contact") or {}).get("email")]

    def react(self, message: dict[str, Any], user: str, reaction: str) -> dict[str, Any]:
        """A person (email or Slack id) reacts to a posted message, as in the Slack app; the
        answer comes once the sandbox has delivered the event (`delivery` says how it went)."""
        answer = httpx.post(
            f"{self.base_url}/slack/_sandbox/reactions",
            json={"user": user, "channel": message["channel"], "ts": message["ts"],
                  "reaction": reaction, "wait": True},
            timeout=60,
        )  # fmt: skip
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    def invoice_actions(self, company: str, reference: str) -> dict[str, Any]:
        """The invoice's status and the count of each action Visma applied to it."""
        found: dict[str, Any] = self.get(f"/visma/_sandbox/invoices/{company}/{reference}/actions")
        return found

    def approval_signals(self) -> list[dict[str, Any]]:
        """Every approve or reject gesture the approvals service saw, authorised or not."""
        topic = f"{self.topics.prefix}{APPROVAL_SIGNALS.name}"
        serde = AvroSerde(SchemaCatalog.load())
        try:
            records = list(iter_to_end(KafkaSettings(), topic, client=f"run-{self.run_id}-check"))
        except StateLoadError:
            return []  # no gesture yet: the topic is made with the first one
        return [serde.decode(value)[1] for _, value in records]

    def thread(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """The replies posted in a message's thread."""
        return [m for m in self.posted() if m.get("thread_ts") == message["ts"]]


def command_ids(messages: list[dict[str, Any]]) -> list[str]:
    """The command id each posted message carries in its metadata (a digest lists several)."""
    ids = []
    for m in messages:
        meta = m.get("metadata")
        payload = meta.get("event_payload") if isinstance(meta, dict) else None
        if isinstance(payload, dict) and "command_id" in payload:
            ids.append(str(payload["command_id"]))
        if isinstance(payload, dict) and isinstance(payload.get("command_ids"), list):
            ids.extend(str(i) for i in payload["command_ids"])
    return ids
