"""The composition root: one ASGI app with every simulator mounted under its prefix.

``create_app`` builds all per-run state (clock, stores, limiters, the webhook HTTP client)
so nothing exists at import time and each test gets a fresh, isolated sandbox. The built
objects hang on ``app.state.sandbox`` for tests that want to look inside. A test passes
its own ``webhook_client`` (e.g. over ``httpx.MockTransport``) and keeps ownership of it;
a client the app built itself is closed on shutdown. The same client carries Visma
webhooks, Slack Events API callbacks, Twilio status callbacks and the monday, BILL and
Airbase webhooks. Slack users are seeded from the Visma employees' emails so the two simulators
describe one firm.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from sandbox.airbase.app import create_airbase_app
from sandbox.airbase.state import AirbaseState
from sandbox.bill.app import create_bill_app
from sandbox.bill.seeding import seed_organization
from sandbox.bill.state import BillState
from sandbox.clock import SandboxClock
from sandbox.clock_routes import build_clock_router
from sandbox.config import SandboxConfig
from sandbox.monday.app import create_monday_app
from sandbox.monday.state import MondayState
from sandbox.slack.app import create_slack_app
from sandbox.slack.state import SlackState
from sandbox.twilio.app import create_twilio_app
from sandbox.twilio.sendgrid import SendGridState
from sandbox.twilio.sendgrid_app import create_sendgrid_app
from sandbox.twilio.state import TwilioState
from sandbox.visma.app import create_visma_app
from sandbox.visma.state import VismaState


@dataclass(frozen=True)
class Sandbox:
    config: SandboxConfig
    clock: SandboxClock
    visma: VismaState
    slack: SlackState
    twilio: TwilioState
    sendgrid: SendGridState
    monday: MondayState
    bill: BillState
    airbase: AirbaseState


def build_sandbox(config: SandboxConfig, *, webhook_client: httpx.AsyncClient) -> Sandbox:
    clock = SandboxClock(speed=config.clock_speed, start=config.clock_start)
    visma = VismaState(config.visma, clock, seed=config.seed, webhook_client=webhook_client)
    slack = SlackState(config.slack, clock, events_client=webhook_client, seed=config.seed)
    seed_slack_users(slack, visma)
    twilio = TwilioState(config.twilio, clock, callback_client=webhook_client, seed=config.seed)
    sendgrid = SendGridState(config.sendgrid, clock, seed=config.seed)
    monday = MondayState(config.monday, clock, webhook_client=webhook_client, seed=config.seed)
    bill = BillState(config.bill, clock, webhook_client=webhook_client, seed=config.seed)
    seed_bill_organizations(bill, visma, seed=config.seed)
    airbase = AirbaseState(config.airbase, clock, webhook_client=webhook_client, seed=config.seed)
    return Sandbox(
        config=config,
        clock=clock,
        visma=visma,
        slack=slack,
        twilio=twilio,
        sendgrid=sendgrid,
        monday=monday,
        bill=bill,
        airbase=airbase,
    )


def seed_slack_users(slack: SlackState, visma: VismaState) -> None:
    """Every Visma employee is a Slack member with the same email, as in a real firm.

    Approver emails known on the Visma side then resolve with users.lookupByEmail.
    """
    for company in visma.config.tenants:
        for employee in visma.store.list("employee", company):
            email = (employee.fields.get("contact") or {}).get("email")
            if email:
                name = str(employee.fields.get("employeeName", ""))
                slack.add_user(str(email), str(email).split("@")[0], real_name=name)


def seed_bill_organizations(bill: BillState, visma: VismaState, *, seed: int) -> None:
    """Seeded BILL organizations start with vendors and bills; with ``visma_tenant`` their
    vendors are that Visma company's suppliers, so the two simulators describe one client."""

    def suppliers_of(tenant: str) -> list[dict[str, Any]]:
        return [record.fields for record in visma.store.list("supplier", tenant)]

    for organization in bill.config.organizations:
        seed_organization(
            bill.records, organization, clock=bill.clock, suppliers_of=suppliers_of, seed=seed
        )


def create_app(
    config: SandboxConfig | None = None, *, webhook_client: httpx.AsyncClient | None = None
) -> FastAPI:
    config = config or SandboxConfig()
    owned = webhook_client is None
    client = webhook_client or httpx.AsyncClient(timeout=config.visma.webhook_timeout_seconds)
    sandbox = build_sandbox(config, webhook_client=client)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await sandbox.visma.webhooks.cancel()
        await sandbox.slack.events.cancel()
        await sandbox.twilio.cancel()
        await sandbox.monday.webhooks.cancel()
        await sandbox.bill.webhooks.cancel()
        await sandbox.airbase.webhooks.cancel()
        if owned:
            await client.aclose()

    app = FastAPI(title="ml-connector sandbox", lifespan=lifespan)
    app.state.sandbox = sandbox
    app.include_router(build_clock_router(sandbox.clock), prefix="/_sandbox")

    @app.middleware("http")
    async def server_date(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # A server's Date is its own clock: the sandbox's, which may run fast for simulations.
        response = await call_next(request)
        response.headers["Date"] = format_datetime(sandbox.clock.now(), usegmt=True)
        return response

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {
            "ok": True,
            "systems": ["visma", "slack", "twilio", "sendgrid", "monday", "bill", "airbase"],
        }

    app.mount("/visma", create_visma_app(sandbox.visma))
    app.mount("/slack", create_slack_app(sandbox.slack))
    app.mount("/twilio", create_twilio_app(sandbox.twilio))
    app.mount("/sendgrid", create_sendgrid_app(sandbox.sendgrid))
    app.mount("/monday", create_monday_app(sandbox.monday))
    app.mount("/bill", create_bill_app(sandbox.bill))
    app.mount("/airbase", create_airbase_app(sandbox.airbase))
    return app
