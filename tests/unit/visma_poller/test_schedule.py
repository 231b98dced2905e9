"""The budget planner: wishes are kept while they fit, priorities decide who slows down."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visma_poller.schedule import EntityWish, plan

pytestmark = pytest.mark.unit


def _actual_per_hour(every_seconds: float, calls_per_poll: float) -> float:
    """What a cadence really costs, worked out here rather than read from the plan."""
    if math.isinf(every_seconds):
        return 0.0
    return 3600.0 / every_seconds * max(1.0, calls_per_poll)


def test_when_everything_fits_every_entity_gets_its_wish() -> None:
    wishes = [EntityWish("supplierInvoice", 300, 10), EntityWish("account", 3600, 90)]
    result = plan(wishes, budget_per_hour=500)
    assert result.every("supplierInvoice") == 300
    assert result.every("account") == 3600
    assert result.calls_per_hour == pytest.approx(12 + 1)
    assert not any(e.slowed for e in result.entities)
    assert result.describe() == "supplierInvoice every 5 min, account every 1 h"


def test_a_short_budget_slows_the_lower_priority_and_says_so() -> None:
    # 100 calls, 10 kept in reserve: the invoices' 60/h fit, 30 are left for the accounts.
    wishes = [EntityWish("account", 60, priority=90), EntityWish("supplierInvoice", 60, 10)]
    result = plan(wishes, budget_per_hour=100, reserve=0.1)
    assert result.every("supplierInvoice") == 60
    assert result.every("account") == pytest.approx(120)
    assert [e.entity for e in result.entities] == ["account", "supplierInvoice"], "wish order"
    assert result.describe() == "account every 2 min (wished 1 min), supplierInvoice every 1 min"


def test_every_entity_after_the_first_that_does_not_fit_shares_what_is_left() -> None:
    # 50 usable calls: A (priority 1) wants 60 and does not fit, so A, B and C share the 50
    # in proportion to their wishes (60 : 30 : 10), so each runs at half its wished rate,
    # even though C alone would have fitted.
    wishes = [EntityWish("A", 60, 1), EntityWish("B", 120, 2), EntityWish("C", 360, 3)]
    result = plan(wishes, budget_per_hour=50, reserve=0)
    assert result.every("A") == pytest.approx(120)
    assert result.every("B") == pytest.approx(240)
    assert result.every("C") == pytest.approx(720)
    assert result.calls_per_hour == pytest.approx(50)
    assert all(e.slowed for e in result.entities)


def test_the_reserve_is_kept_for_webhook_pulls() -> None:
    wishes = [EntityWish(f"e{n}", 10, n) for n in range(5)]  # 1,800 calls an hour wished
    for budget, reserve in [(500, 0.1), (500, 0.5), (37, 0.25), (1000, 0.0)]:
        result = plan(wishes, budget_per_hour=budget, reserve=reserve)
        reserved = math.ceil(budget * reserve)
        assert result.reserve_per_hour == reserved
        spent = sum(_actual_per_hour(e.every_seconds, w.calls_per_poll)
                    for e, w in zip(result.entities, wishes, strict=True))  # fmt: skip
        assert spent <= budget - reserved + 1e-6
        assert spent == pytest.approx(budget - reserved), "what is left is spent, not wasted"


def test_several_calls_per_poll_raise_the_demand() -> None:
    one_page = plan([EntityWish("supplierInvoice", 300)], budget_per_hour=500)
    three_pages = plan([EntityWish("supplierInvoice", 300, calls_per_poll=3)], budget_per_hour=500)
    assert one_page.calls_per_hour == pytest.approx(12)
    assert three_pages.calls_per_hour == pytest.approx(36)
    # With 30 calls to spend, three pages a poll fit only every six minutes, not every five.
    tight = plan([EntityWish("supplierInvoice", 300, calls_per_poll=3)], budget_per_hour=30,
                 reserve=0)  # fmt: skip
    assert tight.every("supplierInvoice") == pytest.approx(360)
    assert plan([EntityWish("supplierInvoice", 300)], budget_per_hour=30, reserve=0).every(
        "supplierInvoice") == 300  # fmt: skip


def test_an_entity_left_without_budget_is_never_polled_and_the_plan_says_so() -> None:
    # The invoices' wish takes exactly the 9 usable calls; nothing is left for the accounts.
    wishes = [EntityWish("supplierInvoice", 400, 1), EntityWish("account", 3600, 2)]
    result = plan(wishes, budget_per_hour=10, reserve=0.1)
    assert result.every("supplierInvoice") == 400
    assert math.isinf(result.every("account"))
    assert "account every never (no budget left) (wished 1 h)" in result.describe()


@pytest.mark.parametrize("budget", [0, -1])
def test_a_budget_below_one_call_is_refused(budget: int) -> None:
    with pytest.raises(ValueError, match="at least one call"):
        plan([EntityWish("account", 3600)], budget_per_hour=budget)


_wish = st.tuples(
    st.floats(min_value=1, max_value=86_400),  # every_seconds
    st.integers(min_value=0, max_value=200),  # priority
    st.floats(min_value=0.1, max_value=50),  # calls_per_poll
)


@settings(max_examples=300, deadline=None)
@given(
    wishes=st.lists(_wish, min_size=1, max_size=13),
    budget=st.integers(min_value=1, max_value=100_000),
    reserve=st.floats(min_value=0, max_value=0.9),
)
def test_no_plan_exceeds_the_budget_or_polls_faster_than_wished(
    wishes: list[tuple[float, int, float]], budget: int, reserve: float
) -> None:
    entity_wishes = [EntityWish(f"e{i}", every, prio, cpp)
                     for i, (every, prio, cpp) in enumerate(wishes)]  # fmt: skip
    result = plan(entity_wishes, budget_per_hour=budget, reserve=reserve)
    assert [e.entity for e in result.entities] == [w.entity for w in entity_wishes]
    spent = 0.0
    for planned, wish in zip(result.entities, entity_wishes, strict=True):
        assert planned.every_seconds >= wish.every_seconds
        assert planned.wished_seconds == wish.every_seconds
        spent += _actual_per_hour(planned.every_seconds, wish.calls_per_poll)
    usable = budget - math.ceil(budget * reserve)
    assert spent <= usable + 1e-6 * max(1.0, usable)
    assert result.calls_per_hour <= usable + 1e-6 * max(1.0, usable)
