"""The vendors and bills of each simulated BILL organization, as BILL's v3 API shows them.

Records are JSON objects in v3's shape (``id``, ``archived``, ``createdTime``,
``updatedTime`` and the entity's fields), changed only as a BILL user would change them in
BILL's UI (the admin routes). Ids look like BILL's: 20 characters, ``009`` for a vendor and
``00n`` for a bill. A bill's ``amount`` is the sum of its ``billLineItems``; each line
carries its GL account and department in ``classifications`` (``chartOfAccountId``,
``departmentId``; the v3 field names beyond the published payload are UNCONFIRMED).
Every change stamps ``updatedTime`` on the sandbox clock and returns the event type it
causes (``vendor.created``, ``bill.updated``, ...) for the webhooks.
"""

from __future__ import annotations

import copy
import itertools
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.bill.errors import NOT_FOUND, BillApiError, format_time
from sandbox.bill.filters import invalid, parse_bill_datetime
from sandbox.clock import SandboxClock

PREFIXES = {"vendor": "009", "bill": "00n"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
READ_ONLY = frozenset({"id", "createdTime", "updatedTime", "archived", "amount", "dueAmount"})


class OrganizationRecords:
    def __init__(self, organization_id: str) -> None:
        self.organization_id = organization_id
        self.by_entity: dict[str, dict[str, dict[str, Any]]] = {"vendor": {}, "bill": {}}

    def list(self, entity: str) -> list[dict[str, Any]]:
        return list(self.by_entity[entity].values())

    def get(self, entity: str, record_id: str) -> dict[str, Any]:
        record = self.by_entity[entity].get(record_id)
        if record is None:
            raise BillApiError(NOT_FOUND, f"{entity} {record_id} not found")
        return record


def _amount_of(lines: list[dict[str, Any]]) -> float:
    try:
        total = sum((Decimal(str(line["amount"])) for line in lines), Decimal(0))
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise invalid("every bill line needs a numeric amount") from exc
    return float(total)


class BillRecords:
    def __init__(self, clock: SandboxClock, organization_ids: list[str]) -> None:
        self._clock = clock
        self._counter = itertools.count(1)
        self.organizations = {oid: OrganizationRecords(oid) for oid in organization_ids}

    def organization(self, organization_id: str) -> OrganizationRecords:
        records = self.organizations.get(organization_id)
        if records is None:
            raise BillApiError(NOT_FOUND, f"organization {organization_id} not found")
        return records

    def _new_id(self, entity: str) -> str:
        return f"{PREFIXES[entity]}01{next(self._counter):015d}"

    def _stamp(self) -> str:
        return format_time(self._clock.now())

    def create(
        self,
        organization_id: str,
        entity: str,
        fields: dict[str, Any],
        *,
        times: tuple[datetime, datetime] | None = None,
    ) -> dict[str, Any]:
        """A new record stamped now, or with (created, updated) `times` when seeding."""
        org = self.organization(organization_id)
        fields = {k: v for k, v in copy.deepcopy(fields).items() if k not in READ_ONLY}
        self._check(org, entity, fields)
        now = self._stamp()
        record = {"id": self._new_id(entity), "archived": False, **fields}
        if entity == "bill":
            self._price(org, record)
            record.setdefault("paymentStatus", "UNPAID")
            record.setdefault("approvalStatus", "UNASSIGNED")
        record["createdTime"] = record["updatedTime"] = now
        if times is not None:
            record["createdTime"], record["updatedTime"] = (format_time(t) for t in times)
        org.by_entity[entity][record["id"]] = record
        return record

    def change(
        self, organization_id: str, entity: str, record_id: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        org = self.organization(organization_id)
        record = org.get(entity, record_id)
        changes = {k: v for k, v in copy.deepcopy(fields).items() if k not in READ_ONLY}
        merged = {**record, **changes}
        self._check(org, entity, merged)
        if entity == "bill":
            self._price(org, merged)
        merged["updatedTime"] = self._stamp()
        record.clear()
        record.update(merged)
        return record

    def set_archived(
        self, organization_id: str, entity: str, record_id: str, archived: bool
    ) -> dict[str, Any]:
        record = self.organization(organization_id).get(entity, record_id)
        record["archived"] = archived
        record["updatedTime"] = self._stamp()
        return record

    @staticmethod
    def _check(org: OrganizationRecords, entity: str, fields: dict[str, Any]) -> None:
        if entity == "vendor":
            if not str(fields.get("name") or "").strip():
                raise invalid("a vendor needs a name")
            return
        org.get("vendor", str(fields.get("vendorId")))
        invoice = fields.get("invoice")
        if not isinstance(invoice, dict) or not invoice.get("invoiceNumber"):
            raise invalid("a bill needs invoice.invoiceNumber and invoice.invoiceDate")
        for date in (invoice.get("invoiceDate"), fields.get("dueDate")):
            if not isinstance(date, str) or not _DAY.match(date):
                raise invalid("invoice.invoiceDate and dueDate are dates: yyyy-MM-dd")
            parse_bill_datetime(date)  # refuses 2026-02-30
        lines = fields.get("billLineItems")
        if not isinstance(lines, list) or not lines:
            raise invalid("a bill needs at least one bill line item")

    @staticmethod
    def _price(org: OrganizationRecords, bill: dict[str, Any]) -> None:
        bill["amount"] = _amount_of(bill["billLineItems"])
        bill["dueAmount"] = bill["amount"] if bill.get("paymentStatus") != "PAID" else 0.0
        bill["vendorName"] = org.get("vendor", bill["vendorId"])["name"]
