"""BillClient's vendor and bill lists and reads against the BILL sandbox: the
``updatedTime:gte`` filter, 100 records a page, every page by its token, records created
and changed while the client pages, and BILL's v3 shapes read into typed records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from bill_client_kit import rig

from bill_client import BillBill, BillNotFound, BillVendor, bill_time

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


def test_filter_times_are_utc_with_milliseconds() -> None:
    cet = timezone(timedelta(hours=1))
    moment = datetime(2026, 3, 2, 11, 0, 5, 123456, tzinfo=cet)
    assert bill_time(moment) == "2026-03-02T10:00:05.123Z"
    with pytest.raises(ValueError, match="time zone"):
        bill_time(datetime(2026, 3, 2, 10, 0))


async def test_vendors_changed_since_a_time_across_pages_of_100() -> None:
    async with rig() as r:
        old = [(await r.vendor(f"Old vendor {n}"))["id"] for n in range(5)]
        r.passes(3600)
        since = r.time.clock.now()
        new = [(await r.vendor(f"Vendor {n}", taxId=f"DK{n:08d}"))["id"] for n in range(230)]
        seen = [v async for v in r.client.vendors(updated_since=since)]
        assert [v.id for v in seen] == new
        assert all(isinstance(v, BillVendor) for v in seen)
        assert seen[7].tax_id == "DK00000007"
        assert seen[7].name == "Vendor 7"
        assert not set(old) & {v.id for v in seen}
        lists = [q for q in r.transport.requests if q.url.path.endswith("/vendors")]
        assert len(lists) == 3
        assert lists[0].url.params["filters"] == f'updatedTime:gte:"{bill_time(since)}"'
        assert all(q.url.params["max"] == "100" for q in lists)
        assert [("page" in q.url.params) for q in lists] == [False, True, True]


async def test_records_created_and_changed_while_paging_are_neither_lost_nor_repeated() -> None:
    async with rig() as r:
        since = r.time.clock.now()
        first = [(await r.vendor(f"Vendor {n}"))["id"] for n in range(250)]
        seen: list[str] = []
        later: list[str] = []
        async for vendor in r.client.vendors(updated_since=since):
            seen.append(vendor.id)
            if len(seen) in (50, 150):  # BILL users at work between two pages
                r.passes(5)
                for n in range(3):
                    await r.admin(
                        "PATCH",
                        f"/organizations/{r.bill_org}/vendors/{first[-1 - n]}",
                        {"email": f"ap{n}@vendor.example"},
                    )
                    await r.admin(
                        "PATCH",
                        f"/organizations/{r.bill_org}/vendors/{first[n]}",
                        {"email": "ap@vendor.example"},
                    )
                later += [(await r.vendor(f"Late vendor {len(later) + n}"))["id"] for n in range(4)]
        assert len(seen) == len(set(seen))
        assert set(first + later) == set(seen)


async def test_bills_read_with_lines_and_classifications() -> None:
    async with rig() as r:
        since = r.time.clock.now()
        vendor = await r.vendor("Nordic Paper AB")
        entered = await r.entered_bill(vendor["id"], "INV-1001", 1200.5, 99.5)
        bills = [b async for b in r.client.bills(updated_since=since)]
        assert [b.id for b in bills] == [entered["id"]]
        bill = bills[0]
        assert isinstance(bill, BillBill)
        assert bill.vendor_id == vendor["id"]
        assert bill.vendor_name == "Nordic Paper AB"
        assert bill.invoice.invoice_number == "INV-1001"
        assert bill.invoice.invoice_date == date(2026, 3, 1)
        assert bill.due_date == date(2026, 3, 31)
        assert bill.amount == Decimal("1300.0")
        assert [line.amount for line in bill.bill_line_items] == [
            Decimal("1200.5"),
            Decimal("99.5"),
        ]
        assert bill.bill_line_items[0].classifications.chart_of_account_id == "0ca01"
        assert bill.bill_line_items[0].classifications.department_id == "0de01"
        assert bill.updated_time.tzinfo is not None
        assert await r.client.bill(entered["id"]) == bill


async def test_a_bill_changed_after_the_cursor_is_listed_again() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB")
        entered = await r.entered_bill(vendor["id"], "INV-1", 10.0)
        r.passes(600)
        cursor = r.time.clock.now()
        assert [b async for b in r.client.bills(updated_since=cursor)] == []
        r.passes(60)
        await r.admin(
            "PATCH", f"/organizations/{r.bill_org}/bills/{entered['id']}", {"dueDate": "2026-04-30"}
        )
        changed = [b async for b in r.client.bills(updated_since=cursor)]
        assert [(b.id, b.due_date) for b in changed] == [(entered["id"], date(2026, 4, 30))]
        assert changed[0].updated_time == cursor.astimezone(UTC) + timedelta(seconds=60)


async def test_a_vendor_by_id_and_an_unknown_one() -> None:
    async with rig() as r:
        vendor = await r.vendor("Nordic Paper AB", email="ap@nordic-paper.example")
        read = await r.client.vendor(vendor["id"])
        assert (read.id, read.email, read.archived) == (
            vendor["id"],
            "ap@nordic-paper.example",
            False,
        )
        with pytest.raises(BillNotFound):
            await r.client.vendor("00901000000000099999")


async def test_records_keep_bill_json_as_sent_for_the_events() -> None:
    async with rig() as r:
        since = r.time.clock.now()
        vendor = await r.vendor("Nordic Paper AB", address={"country": "DK"}, shortName="NP")
        entered = await r.entered_bill(vendor["id"], "INV-7", 0.1, 0.2)
        listed = [v async for v in r.client.vendors(updated_since=since)]
        assert listed[0].raw == vendor
        assert (await r.client.vendor(vendor["id"])).raw == vendor
        bill = await r.client.bill(entered["id"])
        assert bill.raw == entered
        assert bill.raw["amount"] == entered["amount"]
        bill.raw["amount"] = 0  # a copy: the record's own JSON stays as BILL sent it
        assert bill.raw == entered
