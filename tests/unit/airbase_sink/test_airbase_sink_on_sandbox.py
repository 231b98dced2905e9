"""The sink with the real Airbase client against the Airbase sandbox (in process), with the
default profile and with other paths, field names and auth scheme on both sides: an invoice
before its supplier, the supplier, a new version, an approver's payment marked synced; each
vendor and bill made once, the bill with its lines' GL account and cost center."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tests.unit.airbase_sink.airbase_sink_kit import TENANT, Sink, invoice, mark, supplier, tenant
from tests.unit.sandbox.sandbox_kit import frozen_config

from airbase_client import AirbaseClient, AirbaseProfile
from sandbox import create_app
from sandbox.airbase.config import demo_token

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

PROFILES = {
    "default": {},
    "renamed": {
        "auth_scheme": "Bearer",
        "paths": {"vendors": "/api/v2/suppliers/", "bills": "/api/v2/payables/",
                  "ledger_entries": "/api/v2/journal/"},
        "fields": {"erp_reference_id": "external_id", "expense_list": "lines"},
    },
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PROFILES))
async def test_the_sink_writes_through_the_client_to_the_sandbox(name: str) -> None:
    app = create_app(frozen_config())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as admin:
        if PROFILES[name]:
            switched = await admin.put("/airbase/_sandbox/profile", json=PROFILES[name])
            assert switched.status_code == 200

        async def everything(resource: str) -> dict[str, Any]:
            found = await admin.get(f"/airbase/_sandbox/{resource}", params={"tenant": TENANT})
            return found.json()  # type: ignore[no-any-return]

        client = AirbaseClient(
            "http://sandbox/airbase", SecretStr(demo_token(TENANT)),
            AirbaseProfile.model_validate(PROFILES[name]), transport=transport,
        )  # fmt: skip
        sink = Sink(client=client, account=tenant())
        await sink.handle(invoice("10042", "50001"))
        await sink.handle(supplier("50001", "Acme AB"))
        await sink.handle(invoice("10042", "50001", amount="1300.00", version=2))
        await sink.handle(invoice("10042", "50001", amount="1300.00", version=2))  # replayed

        vendors, bills = await everything("vendors"), await everything("bills")
        assert vendors["counters"]["creates"] == {"50001": 1}
        assert bills["counters"]["creates"] == {"10042": 1}
        (bill,) = bills["records"]  # the admin view shows the sandbox's own (our) names
        assert [(line["account"], line["tags"]) for line in bill["expense_list"]] == [
            ({"erp_reference_id": "5410"}, [{"type": "department", "erp_reference_id": "CC100"}]),
            ({"erp_reference_id": "5710"}, []),
        ]
        assert bill["vendor"]["erp_reference_id"] == "50001"
        assert bill["total_amount"] == "1300.00"

        approved = await admin.post(f"/airbase/_sandbox/bills/{bill['airbase_id']}/approve")
        assert approved.status_code == 200, approved.text
        paid = await admin.post(f"/airbase/_sandbox/bills/{bill['airbase_id']}/pay")
        assert paid.status_code == 201, paid.text
        entry_id = paid.json()["airbase_id"]
        await sink.handle(mark(entry_id, "000777"))
        (entry,) = (await everything("ledger_entries"))["records"]
        assert (entry["status"], entry["erp_reference_id"]) == ("synced", "000777")
        await client.aclose()
