"""Sharing a company's hourly call budget between entities, by priority and cadence.

Each entity asks for a cadence ("supplier invoices every 5 minutes") and has a priority.
A poll costs one call per page, and an idle poll one call; the plan estimates each entity's
calls per poll from what its last polls cost. When the budget (less a reserve for
webhook-triggered pulls) covers every wish, every entity gets its cadence. When it does not,
entities are served in priority order and the first that does not fit, and every one after
it, is slowed down to share what is left, never silently: the plan says what cadence the
budget allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class EntityWish:
    entity: str
    every_seconds: float
    priority: int = 100
    """Lower is more important."""
    calls_per_poll: float = 1.0


@dataclass(frozen=True)
class EntityPlan:
    entity: str
    every_seconds: float
    wished_seconds: float
    calls_per_hour: float

    @property
    def slowed(self) -> bool:
        return self.every_seconds > self.wished_seconds * 1.001


@dataclass(frozen=True)
class BudgetPlan:
    budget_per_hour: int
    reserve_per_hour: int
    entities: tuple[EntityPlan, ...]

    @property
    def calls_per_hour(self) -> float:
        return sum(e.calls_per_hour for e in self.entities)

    def every(self, entity: str) -> float:
        return next(e.every_seconds for e in self.entities if e.entity == entity)

    def describe(self) -> str:
        """For people: `supplierInvoice every 5 min, account every 1 h (wished 15 min)`."""
        return ", ".join(self.describe_entity(e.entity) for e in self.entities)

    def describe_entity(self, entity: str) -> str:
        e = next(p for p in self.entities if p.entity == entity)
        text = f"{e.entity} every {_duration(e.every_seconds)}"
        if e.slowed:
            text += f" (wished {_duration(e.wished_seconds)})"
        return text


def plan(wishes: list[EntityWish], *, budget_per_hour: int, reserve: float = 0.1) -> BudgetPlan:
    """The cadence each entity gets under `budget_per_hour` calls, keeping `reserve` spare."""
    if budget_per_hour < 1:
        raise ValueError("the hourly budget must be at least one call")
    reserve_calls = math.ceil(budget_per_hour * reserve)
    left = float(budget_per_hour - reserve_calls)
    ordered = sorted(wishes, key=lambda w: (w.priority, w.entity))
    planned: list[EntityPlan] = []
    for index, wish in enumerate(ordered):
        demand = _per_hour(wish.every_seconds, wish.calls_per_poll)
        if demand <= left:
            planned.append(EntityPlan(wish.entity, wish.every_seconds, wish.every_seconds, demand))
            left -= demand
            continue
        # This and every lower priority share what is left in proportion to their wishes.
        rest = ordered[index:]
        wanted = sum(_per_hour(w.every_seconds, w.calls_per_poll) for w in rest)
        for w in rest:
            share = left * _per_hour(w.every_seconds, w.calls_per_poll) / wanted
            # A poll costs at least one call, as `_per_hour` counts it.
            calls = max(1.0, w.calls_per_poll)
            every = max(w.every_seconds, 3600.0 * calls / share) if share > 0 else math.inf
            planned.append(EntityPlan(w.entity, every, w.every_seconds, share))
        break
    order = {w.entity: i for i, w in enumerate(wishes)}
    return BudgetPlan(
        budget_per_hour, reserve_calls, tuple(sorted(planned, key=lambda p: order[p.entity]))
    )


def _per_hour(every_seconds: float, calls_per_poll: float) -> float:
    return 3600.0 / every_seconds * max(1.0, calls_per_poll)


def _duration(seconds: float) -> str:
    if math.isinf(seconds):
        return "never (no budget left)"
    if seconds >= 3600 and seconds % 3600 < 1:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"
