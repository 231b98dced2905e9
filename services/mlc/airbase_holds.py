"""`mlc airbase held`: the operator's view of Airbase payments held by the payments mapping.

Reads the airbase-payments service's standings (`state.airbase-payment.v1`, committed
records only) and prints every held payment: its tenant and entry, vendor, amount, the bill
it pays and the reason it is held (each unmapped GL account or cost center named). A held
payment goes once the service sees a mapping file that maps it (while running or at start).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from airbase_payments.holds import PaymentStanding
from airbase_payments.state import load_standings
from chassis.errors import ConnectorError
from chassis.kafka.outputs import serde_for
from chassis.kafka.state import StateLoadError
from chassis.settings import KafkaSettings, RegistrySettings
from events.airbase_payment_holds import STATE_AIRBASE_PAYMENTS

CLIENT = "mlc-airbase"

HELD_EXAMPLES = """\
examples:
  mlc airbase held                        every held payment and why
  mlc airbase held --tenant tenant-se-1   only one tenant's

A payment is released, once, when the airbase-payments service sees a mapping file that
maps it: add the GL account or cost center the reason names to its file; the running
service takes the changed file up (it looks every 30 s) or reads it at its next start.
"""


def add_held_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "held",
        help="list Airbase payments held by the payments mapping, with the reason",
        description="Reads the airbase-payments service's standings and prints every held "
        "Airbase payment: tenant and ledger entry, vendor, amount, the bill it pays and why "
        "it is held (an unmapped GL account or cost center, no supplier or invoice).",
        epilog=HELD_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--tenant", help="only this tenant's payments")
    p.add_argument("--topic-prefix", default="", help="prefix of every topic (test stacks)")
    p.set_defaults(func=run_held)


def run_held(args: argparse.Namespace, *, out: TextIO = sys.stdout) -> int:
    try:
        serde = serde_for(RegistrySettings())
        topic = args.topic_prefix + STATE_AIRBASE_PAYMENTS.name
        standings = load_standings(KafkaSettings(), serde, topic, client=CLIENT)
    except (ConnectorError, StateLoadError) as exc:
        print(f"mlc airbase held: {exc}", file=sys.stderr)
        return 1
    held = sorted(
        (s for s in standings if s.held is not None and args.tenant in (None, s.tenant_id)),
        key=lambda s: s.key,
    )
    for standing in held:
        out.write(describe(standing))
    out.write(f"{len(held)} payment(s) held\n")
    return 0


def describe(standing: PaymentStanding) -> str:
    payment = standing.held
    assert payment is not None
    vendor = payment.vendor_name or "(no vendor name)"
    bill = f"bill {payment.bill_id or '?'} (Visma invoice {payment.bill_ref or '?'})"
    return (
        f"{standing.key}  {vendor}  {payment.amount} {payment.currency}  {bill}  "
        f"paid {payment.payment_date.isoformat()}\n  held: {standing.reason}\n"
    )
