"""AirbaseClient's reads and writes against a contract-shaped Airbase on MockTransport:
paging to an empty page, typed records with exact amounts, filters, upsert look-ups,
marking entries synced, and a profile that renames paths, fields and the auth scheme."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from airbase_client_kit import FakeAirbase, client_for, payment_entry, vendor

from airbase_client import (
    BILLS,
    VENDORS,
    AirbaseAlreadySynced,
    AirbaseAmbiguousReference,
    AirbaseBill,
    AirbaseProfile,
    AirbaseUnreadable,
    AirbaseVendor,
    RateLimit,
    load_profile,
)
from chassis.yaml_source import YamlSourceError

pytestmark = pytest.mark.anyio


async def test_a_list_reads_every_page_until_an_empty_one_and_ignores_next() -> None:
    airbase = FakeAirbase()
    for number in range(250):
        airbase.add("vendors", vendor(f"{50000 + number}"))
    async with client_for(airbase) as client:
        vendors = [v async for v in client.list(VENDORS)]

    assert [v.erp_reference_id for v in vendors] == [f"{50000 + n}" for n in range(250)]
    assert all(isinstance(v, AirbaseVendor) for v in vendors)
    assert vendors[0].airbase_id == "9001"  # a number on the wire, a string here
    assert vendors[0].subsidiary_reference_ids[0].erp_reference_id == "tenant-se-1"
    pages = [dict(r.url.params) for r in airbase.calls("GET")]
    assert pages == [{"page_size": "100", "page": str(n)} for n in (1, 2, 3, 4)]
    assert all(r.headers["authorization"] == f"Token {airbase.token}" for r in airbase.requests)
    assert client.rate_limit == RateLimit(limit=500, remaining=496)


async def test_a_server_that_ignores_the_page_number_is_unreadable_not_endless() -> None:
    airbase = FakeAirbase()
    airbase.add("vendors", vendor("50001"))

    def page_one_always(request: httpx.Request) -> httpx.Response:
        return airbase._collection(
            httpx.Request("GET", request.url.copy_remove_param("page")), "vendors"
        )

    airbase.fail_next(page_one_always, page_one_always)
    async with client_for(airbase) as client:
        with pytest.raises(AirbaseUnreadable, match="page 2"):
            [v async for v in client.list(VENDORS)]


async def test_ledger_entries_read_sync_ready_with_exact_amounts_lines_and_the_bill() -> None:
    airbase = FakeAirbase()
    airbase.add("ledger_entries", payment_entry(4411, total="1234.50"))
    done = payment_entry(4412)
    done["status"] = "synced"
    airbase.add("ledger_entries", done)
    async with client_for(airbase) as client:
        entries = [e async for e in client.ledger_entries()]
        every = [e async for e in client.ledger_entries(status=None)]

    assert len(entries) == 1
    entry = entries[0]
    assert entry.total_amount == Decimal("1234.50")
    assert str(entry.total_amount) == "1234.50"
    assert entry.bill_id() == "4411"
    assert entry.vendor is not None
    assert entry.vendor.erp_reference_id == "50001"
    line = entry.expense_list[0]
    assert line.account is not None
    assert line.account.erp_reference_id == "6110"
    department = line.department()
    assert department is not None
    assert department.erp_reference_id == "CC20"
    assert entry.amounts is not None
    assert entry.amounts.amount is not None
    assert entry.amounts.amount.amount == Decimal("1234.50")
    assert entry.payment_entry_date is not None
    assert entry.payment_entry_date.isoformat() == "2026-03-03"
    assert entry.raw["spend_owner"]["name"] == "Astrid Berg"  # unmodelled fields kept in raw
    assert dict(airbase.calls("GET")[0].url.params)["status"] == "sync_ready"
    assert "status" not in dict(airbase.calls("GET")[-1].url.params)
    assert len(every) == 1  # the fake's own default, as Airbase's: only sync_ready


async def test_create_get_and_update_speak_in_our_names_with_amounts_as_strings() -> None:
    airbase = FakeAirbase()
    async with client_for(airbase) as client:
        made = await client.create(
            BILLS,
            {
                "erp_reference_id": "SE1/INV/1001",
                "vendor": {"erp_reference_id": "50001"},
                "invoice_number": "F-118",
                "currency": {"iso_code": "SEK"},
                "total_amount": Decimal("1250.00"),
                "due_date": "2026-03-31",
                "status": "pending_approval",
                "expense_list": [
                    {
                        "line_number": 1,
                        "amount": Decimal("1250.00"),
                        "account": {"erp_reference_id": "6110"},
                    }
                ],
            },
        )
        read = await client.get(BILLS, made.airbase_id)
        changed = await client.update("bills", made.airbase_id, {"total_amount": Decimal("990.10")})

    sent = json.loads(airbase.calls("POST")[0].content)
    assert sent["total_amount"] == "1250.00"
    assert sent["expense_list"][0]["amount"] == "1250.00"
    assert isinstance(read, AirbaseBill)
    assert read.total_amount == Decimal("1250.00")
    assert isinstance(changed, AirbaseBill)
    assert changed.total_amount == Decimal("990.10")
    patch = airbase.calls("PATCH")[0]
    assert patch.url.path == f"/v1/accounting/bills/{made.airbase_id}/"
    assert json.loads(patch.content) == {"total_amount": "990.10"}


async def test_find_by_erp_reference_finds_one_none_or_refuses_two() -> None:
    airbase = FakeAirbase()
    airbase.add("vendors", vendor("50001"))
    airbase.add("vendors", vendor("50002"))
    async with client_for(airbase) as client:
        found = await client.find_by_erp_reference(VENDORS, "50002")
        missing = await client.find_by_erp_reference("vendors", "59999")
        airbase.add("vendors", vendor("50002", name="a copy"))
        with pytest.raises(AirbaseAmbiguousReference, match="50002"):
            await client.find_by_erp_reference(VENDORS, "50002")

    assert found is not None
    assert found.name == "Vendor 50002"
    assert missing is None
    assert dict(airbase.calls("GET")[0].url.params)["erp_reference_id"] == "50002"


async def test_find_by_erp_reference_checks_matches_when_the_server_ignores_the_filter() -> None:
    airbase = FakeAirbase()
    airbase.add("vendors", vendor("50001"))
    airbase.add("vendors", vendor("50002"))
    unfiltered = FakeAirbase(records=airbase.records)

    def ignoring_the_filter(request: httpx.Request) -> httpx.Response:
        unfiltered_url = request.url.copy_remove_param("erp_reference_id")
        return unfiltered._collection(httpx.Request("GET", unfiltered_url), "vendors")

    airbase.fail_next(ignoring_the_filter, ignoring_the_filter)
    async with client_for(airbase) as client:
        found = await client.find_by_erp_reference(VENDORS, "50002")
    assert found is not None
    assert found.erp_reference_id == "50002"


async def test_mark_synced_is_idempotent_and_never_overwrites_another_reference() -> None:
    airbase = FakeAirbase()
    entry = airbase.add("ledger_entries", payment_entry(4411))
    entry_id = str(entry["airbase_id"])
    async with client_for(airbase) as client:
        first = await client.mark_synced(entry_id, "PAY-000123")
        again = await client.mark_synced(entry_id, "PAY-000123")
        with pytest.raises(AirbaseAlreadySynced) as refused:
            await client.mark_synced(entry_id, "PAY-000999")

    assert first.status == again.status == "synced"
    assert again.erp_reference_id == "PAY-000123"
    assert refused.value.fields == ["erp_reference_id"]
    assert "PAY-000123" in str(refused.value)
    assert entry["erp_reference_id"] == "PAY-000123"
    bodies = [json.loads(r.content) for r in airbase.calls("PATCH")]
    assert bodies[0] == {"status": "synced", "erp_reference_id": "PAY-000123"}
    assert [r.url.path for r in airbase.calls("PATCH")] == [
        f"/v1/accounting/ledger_entries/{entry_id}/"
    ] * 3


RENAMING_PROFILE = """\
auth_scheme: Bearer
paths:
  vendors: /api/v2/suppliers/
  ledger_entries: /api/v2/journal/
fields:
  erp_reference_id: external_id
  expense_list: lines
"""


async def test_a_profile_moves_paths_renames_fields_both_ways_and_changes_the_scheme(
    tmp_path: Path,
) -> None:
    (tmp_path / "airbase.yaml").write_text(RENAMING_PROFILE, encoding="utf-8")
    profile = load_profile(tmp_path / "airbase.yaml")
    airbase = FakeAirbase(
        scheme="Bearer",
        paths={"/api/v2/suppliers/": "vendors", "/api/v2/journal/": "ledger_entries"},
        ref_field="external_id",
    )
    wire_entry = json.loads(
        json.dumps(payment_entry(4411)).replace('"erp_reference_id"', '"external_id"')
    )
    wire_entry["lines"] = wire_entry.pop("expense_list")
    entry = airbase.add("ledger_entries", wire_entry)
    async with client_for(airbase, profile) as client:
        made = await client.create(VENDORS, vendor("50001"))
        found = await client.find_by_erp_reference(VENDORS, "50001")
        entries = [e async for e in client.ledger_entries()]
        marked = await client.mark_synced(str(entry["airbase_id"]), "PAY-7")

    sent = json.loads(airbase.calls("POST")[0].content)
    assert sent["external_id"] == "50001"
    assert "erp_reference_id" not in sent
    assert sent["subsidiary_reference_ids"][0] == {"airbase_id": 11, "external_id": "tenant-se-1"}
    assert made.erp_reference_id == "50001"
    assert found is not None
    assert found.airbase_id == made.airbase_id
    assert dict(airbase.calls("GET")[0].url.params)["external_id"] == "50001"
    assert entries[0].expense_list[0].account is not None
    assert entries[0].expense_list[0].account.erp_reference_id == "6110"
    assert entries[0].vendor is not None
    assert entries[0].vendor.erp_reference_id == "50001"
    assert "expense_list" in entries[0].raw
    assert "lines" not in entries[0].raw
    assert marked.erp_reference_id == "PAY-7"
    assert json.loads(airbase.calls("PATCH")[0].content) == {
        "status": "synced",
        "external_id": "PAY-7",
    }
    assert airbase.requests[0].headers["authorization"] == f"Bearer {airbase.token}"
    assert {r.url.path for r in airbase.requests} == {
        "/api/v2/suppliers/",
        "/api/v2/journal/",
        f"/api/v2/journal/{entry['airbase_id']}/",
    }


def test_the_default_profile_is_the_contract() -> None:
    profile = AirbaseProfile()
    assert profile.auth_scheme == "Token"
    assert profile.path("vendors") == "/v1/accounting/vendors/"
    assert profile.item_path("ledger_entries", "77") == "/v1/accounting/ledger_entries/77/"
    assert profile.item_path("bills", "a/b") == "/v1/accounting/bills/a%2Fb/"
    assert AirbaseProfile(paths={"bills": "/v2/bills"}).item_path("bills", "7") == "/v2/bills/7"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("fields:\n  erp_reference_id: ref\n  name: ref\n", "ref named for two fields"),
        ("fields:\n  erp_reference_id: name\n", "name is also a field of ours"),
        ("paths:\n  bills: bills/\n", "must be an absolute path"),
        ("paths:\n  invoices: /v1/invoices/\n", "paths.invoices"),
        ("auth_scheme: Token abc\n", "auth_scheme"),
        ("auth_schema: Bearer\n", "auth_schema"),
    ],
)
def test_a_wrong_profile_names_file_line_and_field(
    tmp_path: Path, text: str, complaint: str
) -> None:
    path = tmp_path / "airbase.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(YamlSourceError, match=complaint) as wrong:
        load_profile(path)
    assert str(path) in str(wrong.value)
    assert " line " in str(wrong.value)


def test_a_profile_swapping_two_names_reads_back() -> None:
    profile = AirbaseProfile(fields={"name": "title", "title": "name"})
    wire = profile.to_api({"name": "A", "title": "B", "nested": [{"name": "C"}]})
    assert wire == {"title": "A", "name": "B", "nested": [{"title": "C"}]}
    assert profile.from_api(wire) == {"name": "A", "title": "B", "nested": [{"name": "C"}]}
