"""Airbase payments and a mapping file as the payments service's unit tests build them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from airbase_payments.config import MappingFile, PaymentsConfig
from events.airbase import AirbasePaymentLine, AirbasePaymentReady

T0 = datetime(2026, 12, 3, 8, tzinfo=UTC)
TENANT, COMPANY = "tenant-se-1", "1234567"


def config(
    accounts: dict[str, str] | None = None,
    cost_centers: dict[str, str] | None = None,
    **tenant: Any,
) -> PaymentsConfig:
    return PaymentsConfig(
        MappingFile.model_validate(
            {
                "tenants": {
                    TENANT: {
                        "company": COMPANY,
                        "accounts": {"4010": "4010", "6110": "6110"}
                        if accounts is None
                        else accounts,
                        "cost_centers": {"CC-100": "100", "CC-200": "200"}
                        if cost_centers is None
                        else cost_centers,
                        **tenant,
                    }
                }
            }
        )
    )


def line(
    number: int, amount: str, account: str | None, department: str | None
) -> AirbasePaymentLine:
    return AirbasePaymentLine(
        line_number=number,
        amount=Decimal(amount),
        account_ref=account,
        department_ref=department,
        description=f"line {number}",
    )


def payment(
    entry_id: str = "le-1",
    *,
    version: str = "v1",
    lines: list[AirbasePaymentLine] | None = None,
    amount: str = "1250.00",
    **fields: Any,
) -> AirbasePaymentReady:
    values: dict[str, Any] = {
        "event_id": f"{TENANT}/{entry_id}@{version}",
        "tenant_id": TENANT,
        "company_id": COMPANY,
        "entry_id": entry_id,
        "version": version,
        "entry_type": "bill_payment",
        "vendor_ref": "70012",
        "vendor_name": "Nordisk Papir AB",
        "bill_id": "bill-7",
        "bill_ref": "000123",
        "invoice_number": "NP-118",
        "currency": "SEK",
        "amount": Decimal(amount),
        "payment_date": date(2026, 12, 2),
        "lines": [line(1, "1000.00", "4010", "CC-200"), line(2, "250.00", "6110", None)]
        if lines is None
        else lines,
        "observed_at": T0,
        "via": "poll",
    }
    return AirbasePaymentReady(**(values | fields))
