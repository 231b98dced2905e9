"""The Visma sandbox's seeded supplier invoices book each line on a GL account and a cost
center (a seeded SUBACCOUNT dimension value), the Visma poller carries both on the fact, and
the bill the sink makes of it has lines with both that add up to the invoice's amount (Visma's
lines are net of VAT): the payment that comes back is allocated by them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from tests.unit.airbase_sink.airbase_sink_kit import sync, tenant
from tests.unit.sandbox.sandbox_kit import frozen_config, visma_token

from airbase_sink.records import translate
from sandbox import create_app
from visma_client.models import SupplierInvoiceDto
from visma_poller.mapping import supplier_invoice_event

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


async def test_seeded_invoice_lines_name_a_seeded_cost_center() -> None:
    app = create_app(frozen_config())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        auth = await visma_token(client)
        invoices = (await client.get("/visma/v1/supplierInvoice", headers=auth)).json()
        dimensions = (await client.get("/visma/v1/dimension", headers=auth)).json()
    centers = {d["valueId"] for d in dimensions if d["dimensionId"] == "SUBACCOUNT"}
    assert invoices
    for raw in invoices:
        event = supplier_invoice_event(
            SupplierInvoiceDto.model_validate(raw), tenant_id="tenant-se-1",
            company_id="tenant-se-1", observed_at=datetime.now(UTC),
        )  # fmt: skip
        assert event.invoice.lines
        assert all(line.subaccount in centers and line.account_number
                   for line in event.invoice.lines)  # fmt: skip
        payload = event.invoice.model_dump(mode="json")
        (bill,) = translate(sync("supplierInvoice", event.entity_id, payload), tenant()).writes
        assert bill.create is not None
        lines = bill.create["expense_list"]
        assert sum(Decimal(line["amount"]) for line in lines) == event.invoice.amount
        assert [(line["account"]["erp_reference_id"], line["tags"][0]["erp_reference_id"])
                for line in lines] == [(line.account_number, line.subaccount)
                                       for line in event.invoice.lines]  # fmt: skip
