from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox import SandboxClock

pytestmark = pytest.mark.unit


class FakeTime:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def test_real_time_by_default_follows_the_source() -> None:
    source = FakeTime()
    clock = SandboxClock(source=source)
    source.value += 5
    assert clock.time() == pytest.approx(1005.0)


def test_start_and_advance_move_simulated_time() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = SandboxClock(speed=0, start=start, source=FakeTime())
    clock.advance(3600)
    assert clock.now() == datetime(2026, 1, 1, 1, tzinfo=UTC)


def test_speed_accelerates_from_the_moment_it_is_set() -> None:
    source = FakeTime()
    clock = SandboxClock(source=source)
    source.value += 10
    clock.set_speed(60)
    source.value += 1
    assert clock.time() == pytest.approx(1000 + 10 + 60)


def test_the_clock_never_goes_backwards() -> None:
    clock = SandboxClock(source=FakeTime())
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="speed"):
        clock.set_speed(-2)


@pytest.mark.anyio
async def test_the_date_header_is_the_sandbox_clock() -> None:
    from email.utils import parsedate_to_datetime

    import httpx

    from sandbox.app import create_app
    from sandbox.config import SandboxConfig

    start = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    app = create_app(SandboxConfig(clock_start=start, clock_speed=0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        response = await c.get("/healthz")
    assert parsedate_to_datetime(response.headers["date"]) == start
