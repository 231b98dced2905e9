"""Run `@pytest.mark.anyio` tests on asyncio only (pytest-asyncio is not used)."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
