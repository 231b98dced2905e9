"""The composition root: one ASGI app with every simulator mounted under its prefix.

``create_app`` builds all per-run state (clock, stores, limiters) so nothing exists at
import time and each test gets a fresh, isolated sandbox. The built objects hang on
``app.state.sandbox`` for tests that want to look inside.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from sandbox.clock import SandboxClock
from sandbox.clock_routes import build_clock_router
from sandbox.config import SandboxConfig
from sandbox.slack.app import create_slack_app
from sandbox.slack.state import SlackState
from sandbox.visma.app import create_visma_app
from sandbox.visma.state import VismaState


@dataclass(frozen=True)
class Sandbox:
    config: SandboxConfig
    clock: SandboxClock
    visma: VismaState
    slack: SlackState


def build_sandbox(config: SandboxConfig) -> Sandbox:
    clock = SandboxClock(speed=config.clock_speed, start=config.clock_start)
    return Sandbox(
        config=config,
        clock=clock,
        visma=VismaState(config.visma, clock, seed=config.seed),
        slack=SlackState(config.slack, clock),
    )


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    sandbox = build_sandbox(config or SandboxConfig())
    app = FastAPI(title="ml-connector sandbox")
    app.state.sandbox = sandbox
    app.include_router(build_clock_router(sandbox.clock), prefix="/_sandbox")

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"ok": True, "systems": ["visma", "slack"]}

    app.mount("/visma", create_visma_app(sandbox.visma))
    app.mount("/slack", create_slack_app(sandbox.slack))
    return app
