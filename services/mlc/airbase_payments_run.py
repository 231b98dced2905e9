"""The airbase-payments part of a run (`FlowStack`): its mapping file for the demo tenants
and how the run starts it.

The demo's Airbase reference tables are written from the Visma sandbox by the airbase-sink,
so their `erp_reference_id`s are the Visma sandbox's own codes: the Swedish BAS accounts
(`sandbox.dataset_ledger.BAS_ACCOUNTS`) and the cost centres `CC100`, `CC200`, ... Each is
mapped to itself, one by one as an operator's file would; a code the file does not list
holds the payment, which is what `mlc airbase held` is there to show.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlc.processes import python_module
from sandbox.dataset_ledger import BAS_ACCOUNTS, COST_CENTRES

DEMO_COST_CENTRES = tuple(f"CC{n}00" for n in range(1, len(COST_CENTRES) + 1))
"""The Visma sandbox's seeded cost centres (SUBACCOUNT values CC100 ... CC700)."""


def payments_mapping(tenants: Iterable[str]) -> dict[str, Any]:
    """The airbase-payments file: each tenant books into its own Visma company (the demo's
    tenant and company ids are the same) on the sandbox's accounts and cost centres."""
    return {
        "tenants": {
            tenant: {
                "company": tenant,
                "accounts": {code: code for code, _, _ in BAS_ACCOUNTS},
                "cost_centers": {code: code for code in DEMO_COST_CENTRES},
            }
            for tenant in tenants
        }
    }


def payments_argv(*, run_id: str, prefix: str, config: Path) -> list[str]:
    """`mlc run airbase-payments` on the run's topics (it reads no credential)."""
    return python_module(
        "airbase_payments", "--config", str(config),
        "--group-id", f"run-{run_id}-airbase-payments", "--topic-prefix", prefix,
    )  # fmt: skip
