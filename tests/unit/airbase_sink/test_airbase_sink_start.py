"""The airbase-sink's command line and tenants file: help with an example, mistakes named
with their line, relative profiles read next to the file; a bill's amount text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from tests.unit.airbase_sink.airbase_sink_kit import invoice, tenant

from airbase_sink.inject import SinkOptions, check_options, profile_of
from airbase_sink.main import main, parser
from airbase_sink.records import money, translate
from airbase_sink.tenants import TenantConfigError, load_tenants

pytestmark = pytest.mark.unit

TENANTS = """tenants:
  - tenant_id: tenant-se-1
    company_id: "1234567"
    api_base: http://127.0.0.1:8080/airbase
    credential: airbase/tenant-se-1
    auth_scheme: Bearer
    profile: profile.yaml
    subsidiary: SE01
"""


def test_help_says_what_it_does_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert ended.value.code == 0
    assert "mlc run airbase-sink --tenants airbase-tenants.yaml" in out
    assert "erp reference" in out.lower()


def test_a_tenants_file_with_a_profile_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "tenants.yaml").write_text(TENANTS)
    (tmp_path / "profile.yaml").write_text(
        "paths:\n  bills: /v2/bills/\nfields:\n  erp_reference_id: external_id\n"
    )
    (account,) = load_tenants(tmp_path / "tenants.yaml").values()
    profile = profile_of(account)
    assert (profile.auth_scheme, profile.path("bills")) == ("Bearer", "/v2/bills/")
    assert account.cost_center_dimensions == ("SUBACCOUNT",)
    check_options(SinkOptions(tenants_file=tmp_path / "tenants.yaml"))


def test_a_mistake_in_the_tenants_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text(TENANTS.replace("credential: airbase/tenant-se-1", "token: abc"))
    with pytest.raises(TenantConfigError, match=r"line \d+.*credential|line \d+.*token"):
        load_tenants(path)
    path.write_text(TENANTS + TENANTS.removeprefix("tenants:\n"))
    with pytest.raises(TenantConfigError, match="tenant-se-1 is configured twice"):
        load_tenants(path)


def test_a_bad_tenants_file_stops_the_start_with_status_2(tmp_path: Path) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text("tenants: []\n")
    assert main(["--tenants", str(path)]) == 2


def test_amounts_are_airbase_text_with_two_places_unless_more() -> None:
    assert [money(Decimal(v)) for v in ("1250.5", "250", "0.1250", "1.2345")] == [
        "1250.50", "250.00", "0.125", "1.2345"
    ]  # fmt: skip


def test_an_invoice_without_lines_is_one_line_of_its_amount() -> None:
    (bill,) = translate(invoice("10042", amount="99.90", lines=[]), tenant()).writes
    assert bill.create is not None
    assert bill.create["expense_list"] == [{"line_number": 1, "amount": "99.90", "tags": []}]


def test_net_lines_are_scaled_to_the_invoices_amount_the_last_taking_the_rounding() -> None:
    lines = [{"line_number": n, "amount": a, "account_number": "6110", "subaccount": "CC100"}
             for n, a in enumerate(("333.33", "333.33", "333.34"), start=1)]  # fmt: skip
    (bill,) = translate(invoice("10042", amount="1250.00", lines=lines), tenant()).writes
    assert bill.create is not None
    assert [line["amount"] for line in bill.create["expense_list"]] == [
        "416.66", "416.66", "416.68"
    ]  # fmt: skip
