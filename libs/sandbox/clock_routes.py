"""HTTP control of the sandbox clock, mounted on the root and on each admin API."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox.clock import SandboxClock


class ClockChange(BaseModel):
    advance_seconds: float | None = Field(default=None, ge=0)
    speed: float | None = Field(default=None, ge=0)


def build_clock_router(clock: SandboxClock) -> APIRouter:
    router = APIRouter()

    @router.get("/clock")
    async def read_clock() -> dict[str, object]:
        return clock.snapshot()

    @router.post("/clock")
    async def change_clock(change: ClockChange) -> dict[str, object]:
        if change.speed is not None:
            clock.set_speed(change.speed)
        if change.advance_seconds is not None:
            clock.advance(change.advance_seconds)
        return clock.snapshot()

    return router
