"""The mapping's rules and the hold and release of unmatched vendors' bills (no Kafka)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bill_mapping.config import BillMappingConfigError, load_config
from bill_mapping.mapping import command_id
from bill_mapping.matching import KnownSupplier, SupplierDirectory
from bill_mapping.standing import UNMAPPABLE, UNMATCHED, WAITING, Decision, Standings
from bill_mapping.state import decode_standing, encode_standing
from chassis.serde import AvroSerde, SchemaCatalog
from events.bill import BillBillChanged, BillLine, BillVendorChanged
from events.visma_writes import UpsertSupplier, UpsertSupplierInvoice

MAPPING = """\
tenants:
  nordic:
    organizations:
      - organization: "00801AAA"
        company: "DK1"
        vendor_policy: match
        currency: DKK
        accounts: {"gl-rent": "6100", "gl-it": 6540}
        cost_centers: {"dep-cph": "CC10"}
        links: {"V-LINKED": "SUP-9"}
      - organization: "00801BBB"
        company: "DK2"
        vendor_policy: create
        currency: DKK
        accounts: {"gl-rent": "6100"}
"""
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "bill-mapping.yaml"
    path.write_text(MAPPING)
    return path


class Rules(Standings):
    """The rules with every decision kept at once, as the service does once it is written."""

    def _kept(self, decision: Decision) -> Decision:
        self.commit(decision)
        return decision

    def vendor_changed(self, vendor: BillVendorChanged) -> Decision:
        return self._kept(super().vendor_changed(vendor))

    def bill_changed(self, bill: BillBillChanged) -> Decision:
        return self._kept(super().bill_changed(bill))

    def supplier_seen(
        self, *, tenant_id: str, company_id: str, supplier: KnownSupplier
    ) -> Decision:
        return self._kept(
            super().supplier_seen(tenant_id=tenant_id, company_id=company_id, supplier=supplier)
        )

    def link(
        self, *, tenant_id: str, organization_id: str, vendor_id: str, supplier_number: str
    ) -> Decision:
        return self._kept(
            super().link(
                tenant_id=tenant_id,
                organization_id=organization_id,
                vendor_id=vendor_id,
                supplier_number=supplier_number,
            )
        )


def standings(config_path: Path, *suppliers: KnownSupplier) -> Rules:
    directory = SupplierDirectory()
    for supplier in suppliers:
        directory.learn(tenant_id="nordic", company_id="DK1", supplier=supplier)
    return Rules(load_config(config_path), directory)


def vendor(
    vendor_id: str = "V1", *, org: str = "00801AAA", tax_id: str | None = None
) -> BillVendorChanged:
    return BillVendorChanged(
        tenant_id="nordic", organization_id=org, vendor_id=vendor_id, change="created",
        updated_time=T0, source="webhook", name=f"Vendor {vendor_id}", tax_id=tax_id,
        received_at=T0,
    )  # fmt: skip


def bill(
    bill_id: str, *, vendor_id: str = "V1", org: str = "00801AAA", minutes: int = 0,
    account: str | None = "gl-rent", department: str | None = "dep-cph",
) -> BillBillChanged:  # fmt: skip
    return BillBillChanged(
        tenant_id="nordic", organization_id=org, bill_id=bill_id, vendor_id=vendor_id,
        change="created", updated_time=T0 + timedelta(minutes=minutes), source="poll",
        invoice_number=f"INV-{bill_id}", invoice_date=date(2026, 12, 1),
        due_date=date(2026, 12, 31), amount=Decimal("100.00"), received_at=T0,
        lines=[BillLine(amount=Decimal("100.00"), description="rent",
                        chart_of_account_id=account, department_id=department)],
    )  # fmt: skip


def invoice_ids(commands: list[UpsertSupplier | UpsertSupplierInvoice]) -> list[str]:
    return [c.source_id for c in commands if isinstance(c, UpsertSupplierInvoice)]


def test_a_version_has_one_command_id_however_its_time_is_spelled() -> None:
    cet = timezone(timedelta(hours=1))
    one = command_id(tenant_id="t", company_id="c", kind="bill", bill_id="B1", updated_time=T0)
    same = command_id(
        tenant_id="t", company_id="c", kind="bill", bill_id="B1",
        updated_time=T0.astimezone(cet) + timedelta(microseconds=400),
    )  # fmt: skip
    newer = command_id(
        tenant_id="t", company_id="c", kind="bill", bill_id="B1",
        updated_time=T0 + timedelta(milliseconds=1),
    )  # fmt: skip
    assert one == same
    assert newer != one


def test_a_webhook_and_a_poll_of_one_bill_version_give_the_same_command(config_path: Path) -> None:
    def first_run(source: str) -> list[str]:  # e.g. a replay from the start of the topics
        rules = standings(config_path, KnownSupplier("SUP-1", corporate_id="55667788"))
        rules.vendor_changed(vendor(tax_id="5566-7788"))
        version = bill("B1").model_copy(update={"source": source, "received_at": T0 + timedelta(1)})
        return [c.command_id for c in rules.bill_changed(version).commands]

    webhook, poll = first_run("webhook"), first_run("poll")
    assert len(webhook) == 1
    assert webhook == poll
    rules = standings(config_path, KnownSupplier("SUP-1", corporate_id="55667788"))
    rules.vendor_changed(vendor(tax_id="55667788"))
    newer = rules.bill_changed(bill("B1", minutes=5)).commands
    assert [c.command_id for c in newer] != webhook


def test_a_bill_line_gets_the_mapped_account_and_cost_center(config_path: Path) -> None:
    rules = standings(config_path, KnownSupplier("SUP-1", vat_registration_id="DK 1234 5678"))
    rules.vendor_changed(vendor(tax_id="12345678"))
    (write,) = rules.bill_changed(bill("B1")).commands
    assert isinstance(write, UpsertSupplierInvoice)
    assert write.supplier_number == "SUP-1"
    assert write.company_id == "DK1"
    assert [(ln.account_number, ln.subaccount) for ln in write.lines] == [("6100", "CC10")]
    assert (write.currency_id, write.supplier_reference, write.amount) == (
        "DKK",
        "INV-B1",
        Decimal("100.00"),
    )
    assert write.key == "nordic/DK1/vendor/bill:V1"


@pytest.mark.parametrize(
    ("account", "department", "reason"),
    [
        ("gl-travel", "dep-cph", "line 1: GL account 'gl-travel' is not mapped"),
        ("gl-rent", "dep-aarhus", "line 1: department 'dep-aarhus' is not mapped"),
        (None, None, "line 1 has no GL account"),
    ],
)
def test_an_unmapped_account_or_cost_center_holds_the_bill_never_a_default(
    config_path: Path, account: str | None, department: str | None, reason: str
) -> None:
    rules = standings(config_path, KnownSupplier("SUP-1", corporate_id="55667788"))
    rules.vendor_changed(vendor(tax_id="55667788"))
    outcome = rules.bill_changed(bill("B1", account=account, department=department))
    assert outcome.commands == []
    (held,) = outcome.changed[0].held
    assert held.kind == UNMAPPABLE
    assert reason in held.reason
    fixed = rules.bill_changed(bill("B1", minutes=1))  # its next version maps
    assert invoice_ids(fixed.commands) == ["B1"]
    assert fixed.changed[0].held == ()


def test_create_policy_writes_the_vendor_and_its_bills_without_a_supplier_number(
    config_path: Path,
) -> None:
    rules = standings(config_path)
    (supplier,) = rules.vendor_changed(vendor("V7", org="00801BBB")).commands
    polled = vendor("V7", org="00801BBB").model_copy(update={"source": "poll"})
    assert rules.vendor_changed(polled).commands == []  # the same version by the other path
    assert isinstance(supplier, UpsertSupplier)
    assert (supplier.company_id, supplier.supplier_number) == ("DK2", None)
    (invoice,) = rules.bill_changed(
        bill("B1", vendor_id="V7", org="00801BBB", department=None)
    ).commands
    assert isinstance(invoice, UpsertSupplierInvoice)
    assert invoice.supplier_number is None
    assert invoice.key == supplier.key  # the bill follows its vendor's supplier


def test_create_policy_a_bill_before_its_vendor_waits_for_the_vendors_supplier(
    config_path: Path,
) -> None:
    # The vendor's webhook was lost and its bill's came: the writer could only retry the bill
    # (no supplier in Visma) while the vendor's supplier, on the same key, queued behind it.
    rules = standings(config_path)
    waiting = rules.bill_changed(bill("B1", vendor_id="V8", org="00801BBB", department=None))
    assert waiting.commands == []
    assert [(h.kind, h.reason) for h in waiting.changed[0].held] == [
        (WAITING, "vendor V8 not seen yet")
    ]
    rules.bill_changed(bill("B2", vendor_id="V8", org="00801BBB", department=None))
    released = rules.vendor_changed(vendor("V8", org="00801BBB")).commands
    assert [type(c).__name__ for c in released] == [
        "UpsertSupplier",
        "UpsertSupplierInvoice",
        "UpsertSupplierInvoice",
    ]
    assert invoice_ids(released) == ["B1", "B2"]
    assert rules.get("nordic", "00801BBB", "V8").held == ()  # type: ignore[union-attr]
    (later,) = rules.bill_changed(
        bill("B3", vendor_id="V8", org="00801BBB", department=None)
    ).commands
    assert isinstance(later, UpsertSupplierInvoice)


def test_an_unmatched_vendors_bills_are_held_with_what_was_tried_then_released_in_order(
    config_path: Path,
) -> None:
    rules = standings(config_path, KnownSupplier("SUP-1", corporate_id="99999999"))
    assert rules.vendor_changed(vendor(tax_id="55667788")).commands == []
    for number in ("B1", "B2", "B3"):
        assert rules.bill_changed(bill(number)).commands == []
    standing = rules.get("nordic", "00801AAA", "V1")
    assert standing is not None
    assert [h.kind for h in standing.held] == [UNMATCHED] * 3
    assert standing.tried == (
        "no link",
        "organisation number 55667788: no supplier of company DK1",
        "VAT number 55667788: no supplier of company DK1",
    )
    assert "matches no Visma supplier" in standing.held[0].reason

    other_company = rules.supplier_seen(
        tenant_id="nordic", company_id="DK2", supplier=KnownSupplier("X", corporate_id="55667788")
    )
    assert other_company.commands == []
    released = rules.supplier_seen(
        tenant_id="nordic",
        company_id="DK1",
        supplier=KnownSupplier("SUP-2", corporate_id="556677-88"),
    )
    assert isinstance(released.commands[0], UpsertSupplier)
    assert released.commands[0].supplier_number == "SUP-2"
    assert invoice_ids(released.commands) == ["B1", "B2", "B3"]
    assert all(w.supplier_number == "SUP-2" for w in released.commands)
    assert released.changed[0].held == ()
    again = rules.supplier_seen(
        tenant_id="nordic",
        company_id="DK1",
        supplier=KnownSupplier("SUP-2", corporate_id="55667788"),
    )
    assert again.commands == []  # released once


def test_bills_before_their_vendor_wait_and_a_link_releases_them(config_path: Path) -> None:
    rules = standings(config_path)
    held = rules.bill_changed(bill("B1", vendor_id="V5")).changed[0].held
    assert "vendor V5 not seen yet" in held[0].reason
    rules.bill_changed(bill("B2", vendor_id="V5"))
    rules.bill_changed(bill("B1", vendor_id="V5", minutes=3))  # newer version: after B2 now
    linked = rules.link(
        tenant_id="nordic", organization_id="00801AAA", vendor_id="V5", supplier_number="SUP-7"
    )
    assert invoice_ids(linked.commands) == ["B2", "B1"]
    first = linked.commands[1]
    assert isinstance(first, UpsertSupplierInvoice)
    assert first.created_at == T0 + timedelta(minutes=3)
    assert rules.bill_changed(bill("B4", vendor_id="V5")).commands[0].supplier_number == "SUP-7"  # type: ignore[union-attr]


def test_a_link_in_the_file_pairs_the_vendor(config_path: Path) -> None:
    rules = standings(config_path)
    (write,) = rules.vendor_changed(vendor("V-LINKED")).commands
    assert isinstance(write, UpsertSupplier)
    assert write.supplier_number == "SUP-9"


def test_a_mistake_in_the_file_names_its_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MAPPING.replace("vendor_policy: create", "vendor_policy: invent"))
    with pytest.raises(
        BillMappingConfigError, match=r"line 13: tenants.nordic.organizations\[1\].vendor_policy"
    ):
        load_config(path)


def test_at_start_a_fixed_file_releases_what_it_now_maps_or_links(
    config_path: Path, tmp_path: Path
) -> None:
    directory = SupplierDirectory()
    known = KnownSupplier("SUP-1", corporate_id="55667788")
    directory.learn(tenant_id="nordic", company_id="DK1", supplier=known)
    rules = Rules(load_config(config_path), directory)
    rules.vendor_changed(vendor(tax_id="55667788"))
    rules.bill_changed(bill("B1", account="gl-travel"))
    rules.vendor_changed(vendor("V2"))
    rules.bill_changed(bill("B2", vendor_id="V2"))
    assert rules.remap().commands == []  # the same file: still held, nothing changes

    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(
        MAPPING.replace('"gl-it": 6540', '"gl-it": 6540, "gl-travel": "7000"').replace(
            '{"V-LINKED": "SUP-9"}', '{"V-LINKED": "SUP-9", "V2": "SUP-2"}'
        )
    )
    restarted = Rules(load_config(fixed), directory, rules.all())
    decision = restarted.remap()
    assert invoice_ids(decision.commands) == ["B1", "B2"]
    supplier = [c for c in decision.commands if isinstance(c, UpsertSupplier)]
    assert [(c.source_id, c.supplier_number) for c in supplier] == [("V2", "SUP-2")]
    restarted.commit(decision)
    assert all(s.held == () for s in restarted.all())
    assert restarted.remap().commands == []


def test_an_older_or_the_same_version_read_after_a_write_is_not_written_again(
    config_path: Path,
) -> None:
    rules = standings(config_path, KnownSupplier("SUP-1", corporate_id="55667788"))
    rules.vendor_changed(vendor(tax_id="55667788"))
    assert invoice_ids(rules.bill_changed(bill("B1", minutes=5)).commands) == ["B1"]
    assert rules.bill_changed(bill("B1", minutes=5)).commands == []  # a webhook after a poll
    assert rules.bill_changed(bill("B1", minutes=1)).commands == []  # a late older version
    assert invoice_ids(rules.bill_changed(bill("B1", minutes=9)).commands) == ["B1"]


def test_a_standing_round_trips_through_its_topic_encoding(config_path: Path) -> None:
    serde = AvroSerde(SchemaCatalog.load())
    rules = standings(config_path, KnownSupplier("SUP-1", corporate_id="55667788"))
    rules.vendor_changed(vendor(tax_id="55667788"))
    rules.bill_changed(bill("B1"))
    rules.bill_changed(bill("B2", account="gl-travel"))
    rules.bill_changed(bill("B3", vendor_id="V3"))
    for standing in rules.all():
        assert decode_standing(serde, encode_standing(serde, standing)) == standing
    held = rules.get("nordic", "00801AAA", "V1")
    assert held is not None
    assert held.written == {"B1": T0}
    assert [h.kind for h in held.held] == [UNMAPPABLE]


def test_an_archived_bill_is_not_written_and_a_held_one_is_let_go(config_path: Path) -> None:
    rules = standings(config_path)
    rules.vendor_changed(vendor(tax_id="55667788"))  # unmatched
    rules.bill_changed(bill("B1"))
    rules.bill_changed(bill("B2"))
    archived = bill("B1", minutes=2).model_copy(update={"archived": True, "change": "archived"})
    let_go = rules.bill_changed(archived)
    assert let_go.commands == []
    assert [h.bill.bill_id for h in let_go.changed[0].held] == ["B2"]
    released = rules.link(
        tenant_id="nordic", organization_id="00801AAA", vendor_id="V1", supplier_number="S"
    )
    assert invoice_ids(released.commands) == ["B2"]
    assert (
        rules.bill_changed(bill("B3", minutes=1).model_copy(update={"archived": True})).commands
        == []
    )
    restored = rules.bill_changed(bill("B1", minutes=3))  # restored in BILL: a newer version
    assert invoice_ids(restored.commands) == ["B1"]


@pytest.mark.parametrize(
    ("tax_id", "corporate_id", "vat_registration_id", "known"),
    [
        ("DK40219489", None, "DK40219489", KnownSupplier("SUP-1", "40219489", "DK40219489")),
        ("SE556677889901", None, "SE556677889901", KnownSupplier("SUP-1", None, "SE556677889901")),
        ("40219489", "40219489", None, KnownSupplier("SUP-1", "40219489", "DK40219489")),
        ("5566-7788", "5566-7788", None, KnownSupplier("SUP-1", "55667788")),
    ],
)
def test_a_vendors_tax_id_is_written_as_vat_number_or_organisation_number_never_both(
    config_path: Path,
    tax_id: str,
    corporate_id: str | None,
    vat_registration_id: str | None,
    known: KnownSupplier,
) -> None:
    """A vendor matched by its VAT number must not overwrite the supplier's organisation
    number with it (the supplier 40219489 was being updated to corporateId DK40219489)."""
    rules = standings(config_path, known)
    supplier = next(
        c for c in rules.vendor_changed(vendor(tax_id=tax_id)).commands
        if isinstance(c, UpsertSupplier)
    )  # fmt: skip
    assert supplier.supplier_number == "SUP-1"
    assert (supplier.corporate_id, supplier.vat_registration_id) == (
        corporate_id,
        vat_registration_id,
    )
