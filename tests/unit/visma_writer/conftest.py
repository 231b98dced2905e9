"""Fixtures of the writer's unit tests (the harness itself is in writer_harness.py)."""

from __future__ import annotations

import pytest
from writer_harness import Harness


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def harness() -> Harness:
    return Harness()
