"""The BILL flow's part of a run (`FlowStack`): the bill-poller, the bill-mapping and the
webhook subscription that points the BILL sandbox at the run's ingress.

Kept apart from `mlc.stack` because the BILL flow has files of its own (the poller's
organizations, the tenant's mapping) and an operator step (`mlc bill subscribe`) that the
other flows do not. Each child gets only credential names: the BILL password and devKey sit
in the run's vault (`mlc.demo_vault`), as `mlc secrets set` would have put them. The
subscription is made by running `mlc bill subscribe` as an operator does, so the one-time
securityKey goes from BILL straight into the vault and no process of the run ever prints it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from mlc.demo_vault import BILL_DEV_KEY_CREDENTIAL, password_credential
from mlc.processes import ProcessError, python_module
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_PASSWORD, DEMO_USERNAME
from sandbox.bill.seeding import CHART_OF_ACCOUNTS, DEPARTMENTS

BILL_TENANT = "tenant-dk-1"
"""The demo's Danish client: its BILL organization books into this Visma company."""
DEMO_ACCOUNTS = {bill_id: name.split()[0] for bill_id, name in CHART_OF_ACCOUNTS.items()}
"""The sandbox's BILL chart of accounts -> Visma GL account (its number: 6100 -> 6100)."""
DEMO_COST_CENTERS = {bill_id: f"100-{bill_id[-2:]}" for bill_id in sorted(DEPARTMENTS)}
"""The sandbox's BILL departments -> Visma cost centers (subaccounts 100-10, 100-20, 100-30)."""


def organization_mapping(
    organization_id: str = DEMO_ORGANIZATION_ID,
    *,
    company: str = BILL_TENANT,
    vendor_policy: str = "create",
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One organization's entry of the mapping file, with the sandbox's chart mapped."""
    return {
        "organization": organization_id,
        "company": company,
        "vendor_policy": vendor_policy,
        "currency": "DKK",
        "accounts": dict(DEMO_ACCOUNTS),
        "cost_centers": dict(DEMO_COST_CENTERS),
        "links": dict(links or {}),
    }


def mapping_file(*organizations: dict[str, Any], tenant: str = BILL_TENANT) -> dict[str, Any]:
    """The bill-mapping's file for one tenant (default: the demo organization, `create`)."""
    return {"tenants": {tenant: {"organizations": list(organizations or [organization_mapping()])}}}


@dataclass
class BillFlow:
    """What the run's BILL side looks like: organizations, cadence and the tenant's mapping."""

    organizations: tuple[str, ...] = (DEMO_ORGANIZATION_ID,)
    tenant: str = BILL_TENANT
    username: str = DEMO_USERNAME
    poll_every: float = 5.0
    """Seconds between the bill-poller's cycles (the fallback for dropped webhooks)."""
    overlap: float = 300.0
    hourly_poll_budget: int = 2000
    mapping: dict[str, Any] = field(default_factory=mapping_file)
    """The bill-mapping's file, as `mapping_file()` makes it."""
    passwords: dict[str, str] = field(default_factory=dict)
    """Organization -> its user's password, where not the sandbox's demo password."""

    def credentials(self) -> dict[str, SecretStr]:
        """The vault entries the bill-poller and `mlc bill subscribe` sign in with."""
        values = {
            password_credential(o): SecretStr(self.passwords.get(o, DEMO_PASSWORD))
            for o in self.organizations
        }
        return values | {BILL_DEV_KEY_CREDENTIAL: SecretStr(DEMO_DEV_KEY)}

    def poller_file(self) -> dict[str, Any]:
        return {
            "tenants": {
                self.tenant: {
                    "organizations": [
                        {
                            "organization_id": organization,
                            "username": self.username,
                            "password_credential": password_credential(organization),
                            "dev_key_credential": BILL_DEV_KEY_CREDENTIAL,
                        }
                        for organization in self.organizations
                    ]
                }
            },
            "every_seconds": self.poll_every,
            "overlap_seconds": self.overlap,
            "hourly_poll_budget": self.hourly_poll_budget,
        }


@dataclass(frozen=True)
class BillRun:
    """Where this run's BILL children find BILL, their topics and their files."""

    run_id: str
    state_dir: Path
    base_url: str
    prefix: str

    def poller_argv(self, flow: BillFlow, config: Path) -> tuple[list[str], dict[str, str]]:
        argv = python_module(
            "bill_poller", "--config", str(config),
            "--api-base", f"{self.base_url}/bill/connect/v3",
            "--events-base", f"{self.base_url}/bill/connect-events/v3",
            "--topic-prefix", self.prefix,
        )  # fmt: skip
        return argv, {"MLC_BILL_POLLER_TRANSACTIONAL_ID": f"run-{self.run_id}-bill-poller"}

    def mapping_argv(self, config: Path) -> list[str]:
        return python_module(
            "bill_mapping", "--config", str(config),
            "--group-id", f"run-{self.run_id}-bill-mapping", "--topic-prefix", self.prefix,
        )  # fmt: skip


def subscribe(
    *,
    base_url: str,
    vault_env: dict[str, str],
    flow: BillFlow,
    organization: str,
    url: str,
) -> str:
    """Runs `mlc bill subscribe` as an operator would; returns the subscription id.

    The securityKey lands in the run's vault (whose names `vault_env` gives), where the
    ingress reads it; the command's output names the subscription and never the key.
    """
    done = subprocess.run(  # noqa: S603 - argv is built here
        [sys.executable, "-m", "mlc.cli", "bill", "subscribe", "--org", organization,
         "--tenant", flow.tenant, "--url", url, "--username", flow.username,
         "--password-credential", password_credential(organization),
         "--dev-key-credential", BILL_DEV_KEY_CREDENTIAL,
         "--api-base", f"{base_url}/bill/connect/v3",
         "--events-base", f"{base_url}/bill/connect-events/v3"],
        env=os.environ | vault_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0 or "subscription " not in done.stdout:
        raise ProcessError(f"mlc bill subscribe failed: {done.stderr.strip() or done.stdout}")
    return done.stdout.split("subscription ")[1].split(",")[0]
