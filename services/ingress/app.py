"""The ingress HTTP app: routes translate and delegate, Kafka is behind an injected sender.

Every request body passes `BoundedBodies` first (size, time and a shared byte budget), so no
route reads more than the configured limit or waits on a slow sender.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from slack_sdk.signature import Clock

from chassis.serde import AvroSerde
from ingress.airbase_route import AirbaseSigningSecrets, airbase_route
from ingress.answers import Send
from ingress.bill_route import BillKeys, Now, bill_route
from ingress.body_limit import BodyBudget, BoundedBodies
from ingress.config import IngressSettings
from ingress.dedupe import RecentEvents
from ingress.monday_route import monday_route
from ingress.slack import slack_route
from ingress.slack_signature import SlackSignature
from ingress.twilio_route import twilio_route
from ingress.twilio_tokens import TwilioAuthTokens
from ingress.visma_route import visma_route


def create_app(
    *,
    settings: IngressSettings,
    send: Send,
    serde: AvroSerde,
    slack_clock: Clock | None = None,
    visma_recent: RecentEvents | None = None,
    body_budget: BodyBudget | None = None,
    twilio_tokens: TwilioAuthTokens | None = None,
    bill_keys: BillKeys | None = None,
    bill_clock: Now | None = None,
    airbase_secrets: AirbaseSigningSecrets | None = None,
) -> FastAPI:
    """`send` stores one record and returns once Kafka confirmed it (AsyncProducer.send);
    `slack_clock` lets a test move the time Slack timestamps are checked against,
    `visma_recent` the clock of the Visma replay window, and `body_budget` be watched;
    `twilio_tokens` holds the auth tokens Twilio signs with (default: the environment's);
    `bill_keys` the BILL subscriptions' securityKeys (default: none, every delivery a 401)
    and `bill_clock` the time a key rotation's overlap is checked against; `airbase_secrets`
    the tenants' Airbase webhook signing secrets (default: the environment's)."""
    app = FastAPI(title="ml-connector ingress", docs_url=None, redoc_url=None)
    signing_secret = settings.slack_signing_secret
    signature = SlackSignature(signing_secret, clock=slack_clock) if signing_secret else None
    app.router.routes.append(
        slack_route(settings=settings, send=send, serde=serde, signature=signature)
    )
    app.router.routes.append(
        visma_route(settings=settings, send=send, serde=serde, recent=visma_recent)
    )
    tokens = twilio_tokens or TwilioAuthTokens(tokens=settings.twilio_auth_tokens)
    app.router.routes.append(twilio_route(settings=settings, send=send, serde=serde, tokens=tokens))
    app.router.routes.append(monday_route(settings=settings, send=send, serde=serde))
    keys = bill_keys or BillKeys()
    app.router.routes.append(
        bill_route(settings=settings, send=send, serde=serde, keys=keys, clock=bill_clock)
    )
    airbase = airbase_secrets or AirbaseSigningSecrets(
        secrets=settings.airbase_webhook_secrets, credential=settings.airbase_secret_credential
    )
    app.router.routes.append(
        airbase_route(settings=settings, send=send, serde=serde, secrets=airbase)
    )

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(
        BoundedBodies,
        max_body_bytes=settings.max_body_bytes,
        budget=body_budget or BodyBudget(settings.max_inflight_body_bytes),
        read_timeout_seconds=settings.body_read_timeout_seconds,
    )
    return app
