"""The simulated Airbase: tenants' records, the profile, limits, faults and webhooks together.

Every write goes through here, from the API (``create``, ``update``, ``mark``) or from an
approver (``approve``, ``pay``), so counters and webhooks see each one.
"""

from __future__ import annotations

import random
from typing import Any

import httpx

from sandbox.airbase.config import AirbaseConfig
from sandbox.airbase.errors import AirbaseApiError, field_errors, not_found
from sandbox.airbase.limits import HourlyBudget
from sandbox.airbase.payments import OtherEntry, Payment, entry_of, ledger_entry
from sandbox.airbase.profile import AirbaseProfile
from sandbox.airbase.records import TenantRecords
from sandbox.airbase.resources import ENTRY_STATUSES, RESOURCES, read_input
from sandbox.airbase.webhooks import AirbaseWebhooks
from sandbox.clock import SandboxClock
from sandbox.faults import FaultInjector


class AdminRefusal(AirbaseApiError):
    """An approver's action the bill's status does not allow (409, the sandbox's own)."""

    def __init__(self, detail: str) -> None:
        super().__init__(409, {"detail": detail})


class AirbaseState:
    def __init__(
        self,
        config: AirbaseConfig,
        clock: SandboxClock,
        *,
        webhook_client: httpx.AsyncClient | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.clock = clock
        self.profile: AirbaseProfile = config.profile
        self.faults = FaultInjector(seed=seed, clock=clock)
        self.budget = HourlyBudget(clock, limit=config.requests_per_hour)
        rng = random.Random(seed)
        self.tenants = {t.id: TenantRecords(t.id, rng) for t in config.tenants}
        self.tokens = {token.get_secret_value(): t.id for t in config.tenants for token in t.tokens}
        self.webhooks = AirbaseWebhooks(config.webhooks, clock, client=webhook_client, seed=seed)

    def tenant(self, tenant: str) -> TenantRecords:
        records = self.tenants.get(tenant)
        if records is None:
            raise not_found()
        return records

    def create(self, tenant: str, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        records = self.tenant(tenant)
        spec = RESOURCES[resource]
        values = {**dict(spec.defaults), **read_input(spec, body, partial=False)}
        self._link_vendor(records, values)
        return records.insert(resource, values, now=self.clock.now())

    def update(
        self, tenant: str, resource: str, airbase_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        records = self.tenant(tenant)
        if resource == "ledger_entries":
            return self.mark(tenant, airbase_id, body)
        records.get(resource, airbase_id)
        values = read_input(RESOURCES[resource], body, partial=True)
        self._link_vendor(records, values)
        return records.update(resource, airbase_id, values, now=self.clock.now())

    def _link_vendor(self, records: TenantRecords, values: dict[str, Any]) -> None:
        if "vendor" in values:
            api_name = self.profile.fields.get("erp_reference_id", "erp_reference_id")
            vendor = records.vendor_named_by(values["vendor"], api_name=api_name)
            values["vendor"] = {
                "airbase_id": vendor["airbase_id"],
                "erp_reference_id": vendor["erp_reference_id"],
                "name": vendor["name"],
            }

    def mark(self, tenant: str, airbase_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The ERP marks a ledger entry synced (idempotent for the same reference)."""
        records = self.tenant(tenant)
        entry = records.get("ledger_entries", airbase_id)
        status = body.get("status", entry["status"])
        if status not in ENTRY_STATUSES:
            raise field_errors({"status": [f'"{status}" is not a valid choice.']})
        reference = body.get("erp_reference_id", entry["erp_reference_id"])
        if status == "synced" and not reference:
            raise field_errors({"erp_reference_id": ["This field is required."]})
        held = entry["erp_reference_id"]
        if entry["status"] == "synced" and held is not None and reference != held:
            raise field_errors({"erp_reference_id": [f"Entry is already synced as {held}."]})
        values = read_input(RESOURCES["ledger_entries"], body, partial=True)
        values["status"] = status
        if reference is not None:
            values["erp_reference_id"] = str(reference)
        return records.update("ledger_entries", airbase_id, values, now=self.clock.now())

    def find_bill(self, airbase_id: str) -> tuple[str, dict[str, Any]]:
        for tenant, records in self.tenants.items():
            bill = records.collections["bills"].get(airbase_id)
            if bill is not None:
                return tenant, bill
        raise not_found()

    def approve(self, airbase_id: str, *, approved: bool = True) -> dict[str, Any]:
        """An approver's decision on a pending bill; an approval sends ``bill_approved``
        (no event is known for a rejection)."""
        tenant, bill = self.find_bill(airbase_id)
        if bill["status"] != "pending_approval":
            raise AdminRefusal(f"The bill is {bill['status']}, not pending_approval.")
        status = "approved" if approved else "rejected"
        self.tenant(tenant).update(
            "bills", airbase_id, {"status": status}, now=self.clock.now(), counted=False
        )
        if approved:
            self.publish(tenant, "bill_approved", {"object": "bill", "airbase_id": airbase_id})
        return bill

    def pay(self, airbase_id: str, payment: Payment) -> dict[str, Any]:
        """Pays an approved bill: the bill becomes paid and a ``sync_ready`` entry appears."""
        tenant, bill = self.find_bill(airbase_id)
        if bill["status"] != "approved":
            raise AdminRefusal(f"The bill is {bill['status']}, not approved.")
        records = self.tenant(tenant)
        now = self.clock.now()
        fields = ledger_entry(records, bill, payment, config=self.config, today=now.date())
        entry = records.insert("ledger_entries", fields, now=now, counted=False)
        self._locate(entry, dashboard=f"bills/{airbase_id}")
        records.update("bills", airbase_id, {"status": "paid"}, now=now, counted=False)
        data = {"object": "ledger_entry", "airbase_id": entry["airbase_id"]}
        self.publish(tenant, "bill_paid", data)
        return entry

    def add_entry(self, other: OtherEntry) -> dict[str, Any]:
        """An entry Airbase makes from something other than a bill payment."""
        records = self.tenant(other.tenant)
        now = self.clock.now()
        fields = entry_of(records, other.facts(now.date()), config=self.config)
        entry = records.insert("ledger_entries", fields, now=now, counted=False)
        self._locate(entry, dashboard=f"transactions/{entry['airbase_id']}")
        return entry

    def _locate(self, entry: dict[str, Any], *, dashboard: str) -> None:
        base = self.config.public_base_url + self.profile.resolved_paths()["ledger_entries"]
        entry["url"] = f"{base}{entry['airbase_id']}/"
        entry["airbase_url"] = f"{self.config.dashboard_base_url}/{dashboard}"

    def publish(self, tenant: str, event_type: str, data: dict[str, Any]) -> None:
        self.webhooks.publish(tenant, event_type, data, profile=self.profile)
