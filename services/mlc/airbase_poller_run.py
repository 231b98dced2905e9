"""The airbase-poller part of a run (`FlowStack`): its file for the demo tenants' Airbase
accounts in the sandbox and how the run starts it.

Each demo tenant's token is the vault entry the airbase-sink reads too (the same Airbase
account), named in the file, never in it; the facts go to the run's `airbase.payment.v1`,
which the run's airbase-payments reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlc.demo_vault import airbase_credential
from mlc.processes import python_module

POLL_EVERY_SECONDS = 2.0
"""A demo run pulls often: the approver's payments show up in Visma within seconds."""
POLL_CALLS_PER_HOUR = 300
"""Of the sandbox token's 500 an hour: a pull with nothing new (two pages) every 24 s; a
webhook pulls at once."""


def poller_file(
    *,
    base_url: str,
    tenants: Iterable[str],
    every_seconds: float = POLL_EVERY_SECONDS,
    hourly_calls: int = POLL_CALLS_PER_HOUR,
    profile: Path | None = None,
) -> dict[str, Any]:
    """`profile`: Airbase's paths, field names and auth scheme as the sandbox serves them
    (the airbase-sink's tenants name the same file)."""
    return {
        "tenants": [
            {"tenant_id": tenant, "company_id": tenant, "api_base": f"{base_url}/airbase",
             "credential": airbase_credential(tenant)}
            | ({"profile": str(profile)} if profile is not None else {})
            for tenant in tenants
        ],
        "every_seconds": every_seconds,
        "hourly_calls": hourly_calls,
    }  # fmt: skip


def poller_argv(*, run_id: str, prefix: str, config: Path) -> tuple[list[str], dict[str, str]]:
    """`mlc run airbase-poller` on the run's topics, with a transactional id of the run."""
    argv = python_module("airbase_poller", "--config", str(config), "--topic-prefix", prefix)
    return argv, {"MLC_AIRBASE_POLLER_TRANSACTIONAL_ID": f"run-{run_id}-airbase-poller"}
