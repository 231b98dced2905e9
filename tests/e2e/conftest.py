"""End-to-end fixtures: the whole first flow as processes, on fresh topics, per test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlc.stack import FlowStack, command_ids


@pytest.fixture
def make_stack(
    kafka_bootstrap: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., FlowStack]]:
    stacks: list[FlowStack] = []

    def make(**options: Any) -> FlowStack:
        run_id = uuid.uuid4().hex[:10]
        stack = FlowStack(run_id=run_id, state_dir=tmp_path / run_id, **options)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            for child in stack.children.values():
                print(f"---- {child.name} ----\n{child.tail(30)}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def wait_for_posts(
    stack: FlowStack, want: set[str], *, timeout: float, during: Callable[[], None] | None = None
) -> list[dict[str, Any]]:
    """Polls the Slack sandbox until every wanted command id is posted (or the deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        if during is not None:
            during()
        posted = stack.posted()
        if set(command_ids(posted)) >= want:
            return posted
        time.sleep(0.5)
    raise AssertionError(
        f"only {len(set(command_ids(stack.posted())) & want)} of {len(want)} posted in time"
    )


def settle(stack: FlowStack, seconds: float = 3.0) -> list[dict[str, Any]]:
    """Lets a late duplicate show itself: more than two pacing intervals of a channel."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        stack.check_alive()
        time.sleep(0.5)
    return stack.posted()
