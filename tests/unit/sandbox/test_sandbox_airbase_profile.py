"""Airbase sandbox profile: the auth scheme, paths and field names switched by configuration
(admin route, --airbase-profile), the renames applied both ways at any depth."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from airbase_kit import ADMIN, BILLS, ENTRIES, VENDORS

from sandbox.__main__ import build_config, parse_args

pytestmark = pytest.mark.anyio

BEARER = {"Authorization": "Bearer airbase-demo-token-tenant-se-1"}
PROFILE = {
    "auth_scheme": "Bearer",
    "paths": {
        "vendors": "/api/v2/suppliers/",
        "bills": "/api/v2/payables/",
        "ledger_entries": "/api/v2/journal/",
    },
    "fields": {"erp_reference_id": "external_id", "expense_list": "lines", "airbase_id": "uuid"},
}
SUPPLIERS = "/airbase/api/v2/suppliers/"
PAYABLES = "/airbase/api/v2/payables/"
JOURNAL = "/airbase/api/v2/journal/"


async def test_paths_scheme_and_field_names_switch_both_ways(client: httpx.AsyncClient) -> None:
    switched = await client.put(f"{ADMIN}/profile", json=PROFILE)
    assert switched.status_code == 200
    assert switched.json()["resolved_paths"]["accounts"] == "/v1/accounting/accounts/"
    token = await client.get(SUPPLIERS, headers={"Authorization": "Token x"})
    assert token.status_code == 401
    assert token.headers["WWW-Authenticate"] == "Bearer"
    assert (await client.get(VENDORS, headers=BEARER)).status_code == 404
    vendor = await client.post(
        SUPPLIERS, headers=BEARER, json={"name": "Nordic Paper AB", "external_id": "S1"}
    )
    assert vendor.status_code == 201
    assert vendor.json()["external_id"] == "S1"
    assert "erp_reference_id" not in vendor.json()
    bill = await client.post(
        PAYABLES,
        headers=BEARER,
        json={
            "external_id": "INV-1",
            "vendor": {"external_id": "S1"},
            "currency": {"iso_code": "SEK"},
            "total_amount": "80",
            "lines": [{"amount": "80", "account": {"external_id": "4010"}}],
        },
    )
    assert bill.status_code == 201, bill.text
    body = bill.json()
    assert body["vendor"] == {
        "uuid": vendor.json()["uuid"],
        "external_id": "S1",
        "name": "Nordic Paper AB",
    }
    assert body["lines"][0]["account"] == {"external_id": "4010"}
    orphan = await client.post(
        PAYABLES,
        headers=BEARER,
        json={"vendor": {"external_id": "S9"}, "currency": {"iso_code": "SEK"}, "total_amount": 1},
    )
    assert orphan.json() == {"vendor": ["Object with external_id=S9 does not exist."]}
    missing = await client.post(SUPPLIERS, headers=BEARER, json={"external_id": "S2"})
    assert missing.json() == {"name": ["This field is required."]}
    found = await client.get(PAYABLES, headers=BEARER, params={"external_id": "INV-1"})
    assert [b["uuid"] for b in found.json()["data"]] == [body["uuid"]]
    await client.post(f"{ADMIN}/bills/{body['uuid']}/approve")
    entry = (await client.post(f"{ADMIN}/bills/{body['uuid']}/pay")).json()
    listed = (await client.get(JOURNAL, headers=BEARER)).json()["data"]
    assert [e["uuid"] for e in listed] == [entry["airbase_id"]]
    assert listed[0]["lines"][0]["account"]["external_id"] == "4010"
    assert listed[0]["url"].endswith(f"/api/v2/journal/{entry['airbase_id']}/")
    marked = await client.patch(
        f"{JOURNAL}{entry['airbase_id']}/",
        headers=BEARER,
        json={"status": "synced", "external_id": "PAY-1"},
    )
    assert marked.json()["external_id"] == "PAY-1"
    conflict = await client.patch(
        f"{JOURNAL}{entry['airbase_id']}/",
        headers=BEARER,
        json={"status": "synced", "external_id": "PAY-2"},
    )
    assert conflict.json() == {"external_id": ["Entry is already synced as PAY-1."]}
    admin = (await client.get(f"{ADMIN}/bills", params={"tenant": "tenant-se-1"})).json()
    assert admin["records"][0]["erp_reference_id"] == "INV-1"  # the admin view keeps our names
    assert (await client.get(ENTRIES, headers=BEARER)).status_code == 404
    assert (await client.get(BILLS, headers=BEARER)).status_code == 404


async def test_a_bad_profile_is_refused(client: httpx.AsyncClient) -> None:
    for bad in (
        {"paths": {"invoices": "/x/"}},
        {"paths": {"vendors": "no-leading-slash/"}},
        {"paths": {"vendors": "/v1/vendors/?page=1"}},
        {"paths": {"vendors": "/v1/accounting/bills/"}},
        {"auth_scheme": "Api Key"},
        {"fields": {"name": "title", "email": "title"}},
    ):
        assert (await client.put(f"{ADMIN}/profile", json=bad)).status_code == 422, bad


async def test_paths_without_a_trailing_slash(client: httpx.AsyncClient) -> None:
    profile = {"auth_scheme": "Bearer", "paths": {"vendors": "/api/suppliers"}}
    assert (await client.put(f"{ADMIN}/profile", json=profile)).status_code == 200
    vendor = await client.post(
        "/airbase/api/suppliers", headers=BEARER, json={"name": "A", "erp_reference_id": "S1"}
    )
    assert vendor.status_code == 201
    item = f"/airbase/api/suppliers/{vendor.json()['airbase_id']}"
    assert (await client.get(item, headers=BEARER)).json() == vendor.json()
    assert (await client.get(item + "/", headers=BEARER)).status_code == 404
    assert (await client.get("/airbase/api/suppliers/", headers=BEARER)).status_code == 404


def test_the_profile_flag_reads_the_client_s_yaml(tmp_path: Path) -> None:
    path = tmp_path / "airbase-profile.yaml"
    path.write_text(
        "auth_scheme: Bearer\n"
        "paths:\n  vendors: /api/v2/suppliers/\n"
        "fields:\n  erp_reference_id: external_id\n  expense_list: lines\n"
    )
    profile = build_config(parse_args(["--airbase-profile", str(path)])).airbase.profile
    assert profile.auth_scheme == "Bearer"
    assert profile.resolved_paths()["vendors"] == "/api/v2/suppliers/"
    assert profile.fields == {"erp_reference_id": "external_id", "expense_list": "lines"}
    default = build_config(parse_args([])).airbase.profile
    assert (default.auth_scheme, default.fields) == ("Token", {})
