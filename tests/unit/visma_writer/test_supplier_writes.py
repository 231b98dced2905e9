"""UpsertSupplier on the shared machinery, against the Visma sandbox in process: one
supplier per vendor whatever is repeated or interrupted; updates under If-Match."""

from __future__ import annotations

import pytest
from supplier_writes_kit import SupplierHarness, vendor_command

from events.deliveries import DeliveryStatus
from visma_client import VismaRequestRejected

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_vendor_becomes_one_supplier_with_its_fields_and_mark() -> None:
    h = SupplierHarness()

    number = await h.suppliers.apply(vendor_command())
    again = await h.suppliers.apply(vendor_command())

    (supplier,) = await h.suppliers_named("31337000")
    assert again == number == supplier["number"]
    assert (supplier["name"], supplier["vatRegistrationId"], supplier["currencyId"]) == (
        "Nordisk Kontor ApS", "DK31337000", "DKK"
    )  # fmt: skip
    assert supplier["mainAddress"] == {
        "addressLine1": "Vesterbrogade 1", "city": "Copenhagen", "countryId": "DK"
    }  # fmt: skip
    assert supplier["mainContact"] == {"email": "ap@nordisk.example-dk"}
    assert "[bill vendor 00901VEN1]" in supplier["note"]
    assert h.vendors.supplier_of(vendor_command()) == number
    assert h.audit.stages() == ["sent", "skipped"]


async def test_an_attempt_that_died_after_the_201_finds_the_supplier_instead_of_another() -> None:
    h = SupplierHarness()
    number = await h.suppliers.apply(vendor_command())
    pending = next(e for e in h.ledger.writes if e.status is DeliveryStatus.PENDING)
    h.ledger.entries["cmd-v1"] = pending  # died between Visma's 201 and DONE
    del h.ledger.entries["supplier-of:t1/tenant-se-1/vendor/bill:00901VEN1"]

    found = await h.suppliers.apply(vendor_command())

    assert found == number
    assert [s["number"] for s in await h.suppliers_named("31337000")] == [number]
    assert h.ledger.entries["cmd-v1"].status is DeliveryStatus.DONE
    assert h.vendors.supplier_of(vendor_command()) == number


async def test_a_vendor_without_registration_numbers_is_found_again_by_its_mark() -> None:
    h = SupplierHarness()
    command = vendor_command(corporate_id=None, vat_registration_id=None)
    number = await h.suppliers.apply(command)
    h.ledger.entries.clear()  # the ledger lost everything: only Visma knows

    again = await h.suppliers.apply(vendor_command("cmd-v2", corporate_id=None,
                                                   vat_registration_id=None))  # fmt: skip

    assert again == number


async def test_a_changed_vendor_updates_its_supplier_under_if_match() -> None:
    h = SupplierHarness()
    number = await h.suppliers.apply(vendor_command())

    updated = await h.suppliers.apply(vendor_command("cmd-v2", name="Nordisk Kontor A/S"))

    (supplier,) = await h.suppliers_named("31337000")
    assert updated == number
    assert supplier["name"] == "Nordisk Kontor A/S"
    assert "[bill vendor 00901VEN1]" in supplier["note"]  # the mark stays


async def test_a_412_on_the_update_reads_again_and_applies_once() -> None:
    h = SupplierHarness()
    number = await h.suppliers.apply(vendor_command())
    await h.fault(status=412, path_prefix=f"/v1/supplier/{number}", method="PUT", times=1)

    updated = await h.suppliers.apply(vendor_command("cmd-v2", name="Nordisk Kontor A/S"))

    assert updated == number
    (supplier,) = await h.suppliers_named("31337000")
    assert supplier["name"] == "Nordisk Kontor A/S"
    assert h.audit.stages()[-2:] == ["retried", "sent"]


async def test_a_vendor_matched_by_hand_updates_that_supplier_and_never_creates() -> None:
    h = SupplierHarness()
    created = await h.api(
        "POST", "/v1/supplier",
        json={"name": {"value": "Made by hand"}, "corporateId": {"value": "555"}},
    )  # fmt: skip
    existing = created.headers["Location"].rsplit("/", 1)[1]

    number = await h.suppliers.apply(vendor_command(supplier_number=existing, corporate_id="555"))

    assert number == existing
    assert [s["number"] for s in await h.suppliers_named("555")] == [existing]
    assert await h.suppliers_named("31337000") == []


async def test_a_vendor_with_a_registration_number_adopts_the_supplier_made_by_hand() -> None:
    h = SupplierHarness()
    created = await h.api(
        "POST", "/v1/supplier",
        json={"name": {"value": "Nordisk"}, "corporateId": {"value": "31337000"}},
    )  # fmt: skip
    existing = created.headers["Location"].rsplit("/", 1)[1]

    number = await h.suppliers.apply(vendor_command())

    assert number == existing
    assert len(await h.suppliers_named("31337000")) == 1


async def test_a_match_to_a_supplier_visma_does_not_have_is_refused() -> None:
    h = SupplierHarness()
    with pytest.raises(VismaRequestRejected, match="99999"):
        await h.suppliers.apply(vendor_command(supplier_number="99999"))
