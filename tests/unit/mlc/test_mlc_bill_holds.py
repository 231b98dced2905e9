"""`mlc bill link` and `mlc bill unmatched` without a broker: which vendor a link names, what
the listing says, and the help with examples."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bill_mapping.standing import UNMATCHED, HeldBill, VendorStanding
from events.bill import BillBillChanged, BillVendorChanged
from mlc.bill_holds import LinkRefusedError, describe, link_for
from mlc.cli import parser

T0 = datetime(2026, 12, 3, 8, tzinfo=UTC)


def standing(tenant: str, org: str, vendor_id: str = "V1") -> VendorStanding:
    vendor = BillVendorChanged(
        tenant_id=tenant, organization_id=org, vendor_id=vendor_id, change="created",
        updated_time=T0, source="poll", name="Kontorhuset ApS", received_at=T0,
    )  # fmt: skip
    bill = BillBillChanged(
        tenant_id=tenant, organization_id=org, bill_id="B1", vendor_id=vendor_id,
        change="created", updated_time=T0, source="poll", invoice_number="INV-1",
        invoice_date=date(2026, 12, 1), amount=Decimal("250.00"), received_at=T0,
    )  # fmt: skip
    return VendorStanding(
        tenant, org, vendor_id, vendor=vendor, tried=("no link", "organisation number: none"),
        held=(HeldBill(bill, UNMATCHED, "vendor V1 (Kontorhuset ApS) matches no Visma supplier"),),
    )  # fmt: skip


def test_a_link_names_the_one_vendor_of_that_id() -> None:
    link = link_for([standing("dk", "008A"), standing("dk", "008A", "V2")], vendor_id="V1",
                    supplier_number="70012", tenant_id=None, organization_id=None)  # fmt: skip
    assert (link.tenant_id, link.organization_id, link.vendor_id) == ("dk", "008A", "V1")
    assert link.supplier_number == "70012"
    assert link.key == "dk/008A/V1"


def test_an_unknown_or_ambiguous_vendor_is_refused_in_one_line() -> None:
    both = [standing("dk", "008A"), standing("se", "008B")]
    with pytest.raises(LinkRefusedError, match=r"^no BILL vendor 'V9' is known to the mapping$"):
        link_for(both, vendor_id="V9", supplier_number="1", tenant_id=None, organization_id=None)
    with pytest.raises(LinkRefusedError, match=r"is in dk/008A, se/008B: say --tenant and --org"):
        link_for(both, vendor_id="V1", supplier_number="1", tenant_id=None, organization_id=None)
    chosen = link_for(both, vendor_id="V1", supplier_number="1", tenant_id="se",
                      organization_id=None)  # fmt: skip
    assert chosen.organization_id == "008B"


def test_the_listing_says_what_was_tried_and_each_held_bill() -> None:
    text = describe(standing("dk", "008A"))
    assert text.startswith("dk/008A/V1  Kontorhuset ApS: no Visma supplier\n")
    assert "  tried: no link; organisation number: none\n" in text
    assert "held B1 invoice INV-1 250.00" in text
    assert "unmatched: vendor V1 (Kontorhuset ApS) matches no Visma supplier" in text


@pytest.mark.parametrize("command", ["unmatched", "link"])
def test_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser("bill").parse_args(["bill", command, "--help"])
    assert f"mlc bill {command}" in capsys.readouterr().out
