"""monday's `platform_api` answer read as the daily call limit and the latest day's calls."""

from __future__ import annotations

import pytest

from monday_client.models import DailyCalls

pytestmark = pytest.mark.unit


def test_the_latest_day_counts_and_what_is_left_never_goes_below_zero() -> None:
    answer = {
        "daily_limit": {"total": 10_000},
        "daily_analytics": {
            "by_day": [{"day": "2026-12-02", "usage": 9_000}, {"day": "2026-12-03", "usage": 120}]
        },
    }
    spent = {"daily_limit": {"total": 1_000}, "daily_analytics": {"by_day": [
        {"day": "2026-12-03", "usage": 1_200}]}}  # fmt: skip

    calls = DailyCalls.from_answer(answer)

    assert (calls.limit, calls.used, calls.day, calls.left) == (10_000, 120, "2026-12-03", 9_880)
    assert DailyCalls.from_answer(spent).left == 0


def test_no_limit_or_no_usage_yet() -> None:
    unlimited = DailyCalls.from_answer({"daily_limit": None, "daily_analytics": {"by_day": []}})
    fresh = DailyCalls.from_answer({"daily_limit": {"total": 200}, "daily_analytics": None})

    assert (unlimited.limit, unlimited.left) == (None, None)
    assert (fresh.used, fresh.left, fresh.day) == (0, 200, None)
