"""The complexity budget on its own: what it holds, when it waits, who learns a kind's cost.

A fake clock moved only by the budget's sleep: every wait is counted, none is real.
"""

from __future__ import annotations

import asyncio

import pytest

from monday_client import Complexity, ComplexityBudget

pytestmark = pytest.mark.anyio


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _complexity(*, before: int, query: int, reset: int = 60) -> Complexity:
    return Complexity(before=before, after=before - query, query=query, reset_in_x_seconds=reset)


async def test_a_call_that_does_not_fit_waits_for_the_reset_then_goes() -> None:
    fake = FakeTime()
    budget = ComplexityBudget(clock=fake.time, sleep=fake.sleep)
    hold = await budget.reserve("Create")
    budget.settle(hold, _complexity(before=1_000, query=600, reset=60))
    fake.now += 20
    second = await budget.reserve("Create")
    assert fake.slept == [40.0]  # 400 left < 600: wait the 40 s left of the window
    assert second.points == 600
    assert budget.left == 400  # a fresh window of 1,000, 600 held


async def test_points_held_by_calls_in_flight_count_against_what_is_left() -> None:
    fake = FakeTime()
    budget = ComplexityBudget(clock=fake.time, sleep=fake.sleep)
    first = await budget.reserve("Read")
    budget.settle(first, _complexity(before=1_000, query=300))
    holds = [await budget.reserve("Read"), await budget.reserve("Read")]
    assert budget.left == 100
    assert fake.slept == []
    budget.settle(holds[0], None)
    assert budget.left == 400


async def test_a_call_bigger_than_a_whole_window_is_not_held_back() -> None:
    fake = FakeTime()
    budget = ComplexityBudget(clock=fake.time, sleep=fake.sleep)
    hold = await budget.reserve("Small")
    budget.settle(hold, _complexity(before=1_000, query=10))
    learn = await budget.reserve("Huge")
    budget.settle(learn, _complexity(before=990, query=5_000))
    await budget.reserve("Huge")
    assert fake.slept == []  # waiting cannot make 5,000 fit in 1,000: monday decides


async def test_while_the_first_call_of_a_kind_is_out_the_others_wait_for_its_answer() -> None:
    fake = FakeTime()
    budget = ComplexityBudget(clock=fake.time, sleep=fake.sleep)
    learner = await budget.reserve("Create")
    assert learner.learner
    waiting = asyncio.create_task(budget.reserve("Create"))
    await asyncio.sleep(0)
    assert not waiting.done()
    budget.settle(learner, _complexity(before=1_000, query=400))
    follower = await waiting
    assert not follower.learner
    assert follower.points == 400


async def test_a_failed_first_call_hands_the_learning_to_the_next() -> None:
    fake = FakeTime()
    budget = ComplexityBudget(clock=fake.time, sleep=fake.sleep)
    learner = await budget.reserve("Create")
    waiting = asyncio.create_task(budget.reserve("Create"))
    await asyncio.sleep(0)
    budget.settle(learner, None)  # a transport failure: no complexity learned
    follower = await waiting
    assert follower.learner
    assert follower.points == 1


async def test_a_refusal_empties_the_budget_until_monday_said() -> None:
    fake = FakeTime()
    budget = ComplexityBudget(clock=fake.time, sleep=fake.sleep)
    hold = await budget.reserve("Create")
    budget.exhausted(hold, retry_in_seconds=33)
    await budget.reserve("Create")
    assert fake.slept == [33.0]
