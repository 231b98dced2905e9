"""Which ids an operator may search an audit record by, and what kind each is.

One definition, used by the index that stores them and by `mlc audit`'s scan of the topic,
so both find the same records. Besides the four id fields as written, the last part of an
entity key or external id is an id of its own: `t1/c1/supplierInvoice/Invoice:000123` is
found by `Invoice:000123` (the Visma entity id) and by `000123` (the invoice number),
`org-1/00n01` (a BILL key) by the BILL id `00n01`, `4711/987` (a monday item key) by the
item id `987`, `t1/c1/supplierPayment/airbase:e-42` by the Airbase entry `e-42`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

__all__ = ["IdKind", "searchable_ids", "tails"]


class IdKind(IntEnum):
    """How a record holds an id: the chain of an entity key is every record of that entity;
    the chain of any other id is every record sharing an event or command id with the
    records that hold it."""

    ENTITY = 0
    EVENT = 1
    COMMAND = 2
    OTHER = 3
    """An external id (Slack ts, Twilio SID, monday item, Visma number), or a part of an
    entity key or external id."""


def tails(value: str) -> list[str]:
    """The last `/` part of `value` and the last `:` part of that, when they differ from it."""
    found: list[str] = []
    last = value.rsplit("/", 1)[-1]
    if last and last != value:
        found.append(last)
    number = last.rsplit(":", 1)[-1]
    if number and number != last:
        found.append(number)
    return found


def searchable_ids(record: Mapping[str, Any]) -> set[tuple[str, IdKind]]:
    """Every (id, kind) an operator may find `record` by."""
    found: set[tuple[str, IdKind]] = set()
    entity = record.get("entity_id")
    if entity:
        found.add((entity, IdKind.ENTITY))
        found.update((part, IdKind.OTHER) for part in tails(entity))
    for field, kind in (("event_id", IdKind.EVENT), ("command_id", IdKind.COMMAND)):
        if record.get(field):
            found.add((record[field], kind))
    external = record.get("external_id")
    if external:
        found.add((external, IdKind.OTHER))
        found.update((part, IdKind.OTHER) for part in tails(external))
    return found
