"""A switch for how the simulator orders its lists and whether they change while paged.

Visma does not document the order of its list endpoints. The simulator serves records in
creation order by default, which a change never moves, so a paged read stays stable. Real
lists can be ordered by document number instead, and records are inserted and deleted while
a client pages through them: positions shift, a record is read twice or slips back past a
page edge unread. This switch reproduces that on purpose, so clients are tested against it:

- ``order``: ``created`` (default), ``number`` (ascending) or ``number_desc`` (newest
  number first, where every new document lands on page 1 and pushes the rest down);
- after each page served, ``inserts_per_page`` new records are created (the next number,
  stamped now) and ``deletes_per_page`` records at positions the client has already read
  are deleted, until ``churn_budget`` changes are spent.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from sandbox.visma.store import Record

_DIGITS = re.compile(r"^(.*?)(\d+)$")


class ListOrder(StrEnum):
    CREATED = "created"
    NUMBER = "number"
    NUMBER_DESC = "number_desc"


class PagingSwitch(BaseModel):
    """The admin body of ``PUT /_sandbox/paging``."""

    model_config = ConfigDict(extra="forbid")

    order: ListOrder = ListOrder.CREATED
    entity: str = "supplierInvoice"
    """The entity whose list changes while paged (every list follows ``order``)."""
    inserts_per_page: int = Field(default=0, ge=0, le=1000)
    deletes_per_page: int = Field(default=0, ge=0, le=1000)
    churn_budget: int = Field(default=0, ge=0)
    """Inserts plus deletes still to make; 0 stops the churn."""


class PagingChurn:
    """The switch in force, and what it has changed so far."""

    def __init__(self, *, seed: int) -> None:
        self.switch = PagingSwitch()
        self.inserted: list[str] = []
        self.deleted: list[str] = []
        self._rng = random.Random(seed)

    def set(self, switch: PagingSwitch) -> None:
        self.switch = switch
        self.inserted.clear()
        self.deleted.clear()

    def ordered(self, records: list[Record]) -> list[Record]:
        if self.switch.order is ListOrder.CREATED:
            return records
        return sorted(records, key=_number_key, reverse=self.switch.order is ListOrder.NUMBER_DESC)

    def after_page(
        self,
        entity: str,
        served: list[Record],
        *,
        insert: Callable[[], Record],
        delete: Callable[[Record], None],
    ) -> None:
        """Churn once a page is served; `served` is every position up to its end, in order."""
        switch = self.switch
        if entity != switch.entity or switch.churn_budget <= 0:
            return
        for _ in range(switch.inserts_per_page):
            if not self._spend():
                return
            self.inserted.append(insert().entity_id)
        candidates = [r for r in served if r.entity_id not in self.deleted]
        count = min(switch.deletes_per_page, len(candidates))
        for record in self._rng.sample(candidates, count):
            if not self._spend():
                return
            delete(record)
            self.deleted.append(record.entity_id)

    def stats(self) -> dict[str, object]:
        return {
            **self.switch.model_dump(mode="json"),
            "inserted": list(self.inserted),
            "deleted": list(self.deleted),
        }

    def _spend(self) -> bool:
        if self.switch.churn_budget <= 0:
            return False
        self.switch = self.switch.model_copy(update={"churn_budget": self.switch.churn_budget - 1})
        return True


def _number_key(record: Record) -> tuple[str, int, str]:
    """Document numbers compare as numbers after their prefix (``PO-2026-90010`` > ``-9009``)."""
    found = _DIGITS.match(record.short_id)
    if found is None:
        return (record.short_id, -1, record.short_id)
    return (found.group(1), int(found.group(2)), record.short_id)
