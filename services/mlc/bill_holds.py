"""`mlc bill unmatched` and `mlc bill link`: the operator's side of held BILL vendors.

`unmatched` reads the BILL mapping's standings (`state.bill-vendor.v1`, committed records
only) and prints every vendor with held bills or no Visma supplier: what was tried, and each
held bill with its reason. `link` tells the running mapping which Visma supplier a vendor is
(a `BillVendorLinked` on `bill.vendor-link.v1`, confirmed by Kafka before it answers); the
mapping then releases the vendor's held bills, once, in order.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import TextIO

from bill_mapping.standing import VendorStanding
from bill_mapping.state import load_standings
from chassis.errors import ConnectorError
from chassis.kafka.outputs import serde_for
from chassis.kafka.producer import EventProducer, confirm
from chassis.kafka.state import StateLoadError
from chassis.settings import KafkaSettings, RegistrySettings
from chassis.topics import ensure_topics
from events.bill_holds import BILL_VENDOR_LINKS, STATE_BILL_VENDORS, BillVendorLinked

CLIENT = "mlc-bill"

UNMATCHED_EXAMPLES = """\
examples:
  mlc bill unmatched                    every held vendor, what was tried, its held bills
  mlc bill unmatched --tenant nordic-dk only one tenant's
"""
LINK_EXAMPLES = """\
examples:
  mlc bill link 00901QRS 70012          vendor 00901QRS is Visma supplier 70012
  mlc bill link 00901QRS 70012 --tenant nordic-dk --org 00801ABC
                                        when the vendor id is held in more than one place
"""


class LinkRefusedError(ConnectorError):
    """The link names no held vendor, or one held in several places: nothing was sent."""


def add_unmatched_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "unmatched",
        help="list vendors held without a Visma supplier, what was tried and their held bills",
        description="Reads the BILL mapping's standings and prints every BILL vendor that has "
        "no Visma supplier or held bills: what was tried (link, organisation number, VAT "
        "number) and each held bill with its reason.",
        epilog=UNMATCHED_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--tenant", help="only this tenant's vendors")
    p.add_argument("--topic-prefix", default="", help="prefix of every topic (test stacks)")
    p.set_defaults(func=run_unmatched)


def add_link_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "link",
        help="link a held BILL vendor to an existing Visma supplier: its held bills go",
        description="Tells the BILL mapping that VENDOR_ID is the Visma supplier "
        "SUPPLIER_NUMBER; the mapping writes the vendor's held bills to Visma once, in order.",
        epilog=LINK_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("vendor_id", metavar="VENDOR_ID", help="the BILL vendor id")
    p.add_argument("supplier_number", metavar="SUPPLIER_NUMBER", help="the Visma supplier number")
    p.add_argument("--tenant", help="the vendor's tenant (needed only when ambiguous)")
    p.add_argument("--org", help="the vendor's BILL organization (needed only when ambiguous)")
    p.add_argument("--topic-prefix", default="", help="prefix of every topic (test stacks)")
    p.set_defaults(func=run_link)


def run_unmatched(args: argparse.Namespace, *, out: TextIO = sys.stdout) -> int:
    try:
        standings = _standings(KafkaSettings(), args.topic_prefix)
    except (ConnectorError, StateLoadError) as exc:
        print(f"mlc bill unmatched: {exc}", file=sys.stderr)
        return 1
    shown = [s for s in standings if _needs_attention(s) and args.tenant in (None, s.tenant_id)]
    for standing in shown:
        out.write(describe(standing))
    out.write(f"{len(shown)} vendor(s) held, {sum(len(s.held) for s in shown)} bill(s) held\n")
    return 0


def run_link(args: argparse.Namespace, *, out: TextIO = sys.stdout) -> int:
    settings = KafkaSettings()
    try:
        standings = _standings(settings, args.topic_prefix)
        link = link_for(
            standings, vendor_id=args.vendor_id, supplier_number=args.supplier_number,
            tenant_id=args.tenant, organization_id=args.org,
        )  # fmt: skip
        _send(settings, link, topic=args.topic_prefix + BILL_VENDOR_LINKS.name)
    except (ConnectorError, StateLoadError) as exc:
        print(f"mlc bill link: {exc}", file=sys.stderr)
        return 1
    where = f"{link.tenant_id}/{link.organization_id}"
    out.write(f"linked vendor {link.vendor_id} ({where}) to supplier {link.supplier_number}\n")
    return 0


def link_for(
    standings: list[VendorStanding],
    *,
    vendor_id: str,
    supplier_number: str,
    tenant_id: str | None,
    organization_id: str | None,
) -> BillVendorLinked:
    """The link of the one vendor the arguments name; `LinkRefusedError` in one line if none
    or several do."""
    found = [
        s
        for s in standings
        if s.vendor_id == vendor_id
        and tenant_id in (None, s.tenant_id)
        and organization_id in (None, s.organization_id)
    ]
    if not found:
        raise LinkRefusedError(f"no BILL vendor {vendor_id!r} is known to the mapping")
    if len(found) > 1:
        places = ", ".join(f"{s.tenant_id}/{s.organization_id}" for s in found)
        raise LinkRefusedError(f"vendor {vendor_id!r} is in {places}: say --tenant and --org")
    (standing,) = found
    return BillVendorLinked(
        tenant_id=standing.tenant_id,
        organization_id=standing.organization_id,
        vendor_id=vendor_id,
        supplier_number=supplier_number,
        linked_by=getpass.getuser(),
        linked_at=datetime.now(UTC),
    )


def describe(standing: VendorStanding) -> str:
    name = standing.vendor.name if standing.vendor is not None else "(vendor not seen yet)"
    supplier = (
        f"supplier {standing.supplier_number} ({standing.matched_by})"
        if standing.supplier_number
        else "no Visma supplier"
    )
    lines = [f"{standing.key}  {name}: {supplier}"]
    if standing.tried:
        lines.append("  tried: " + "; ".join(standing.tried))
    for held in standing.held:
        bill = held.bill
        lines.append(
            f"  held {bill.bill_id} invoice {bill.invoice_number} {bill.amount} "
            f"(updated {bill.updated_time.isoformat()}): {held.kind}: {held.reason}"
        )
    return "\n".join(lines) + "\n"


def _needs_attention(standing: VendorStanding) -> bool:
    return bool(standing.held) or (standing.vendor is not None and not standing.supplier_number)


def _standings(settings: KafkaSettings, prefix: str) -> list[VendorStanding]:
    serde = serde_for(RegistrySettings())
    standings = load_standings(settings, serde, prefix + STATE_BILL_VENDORS.name, client=CLIENT)
    return sorted(standings, key=lambda s: s.key)


def _send(settings: KafkaSettings, link: BillVendorLinked, *, topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(settings.client_config(CLIENT))
    spec = replace(BILL_VENDOR_LINKS, name=topic)
    ensure_topics(admin, [spec], replication_factor=settings.replication_factor)
    serde = serde_for(RegistrySettings())
    producer = EventProducer(settings, CLIENT)
    try:
        sent = producer.send(topic, key=link.key, value=serde.encode(link.SCHEMA, link.to_record()))
        confirm([sent])
    finally:
        producer.close()
