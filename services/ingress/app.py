"""The ingress HTTP app: routes translate and delegate, Kafka is behind an injected sender."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from slack_sdk.signature import Clock

from chassis.kafka.producer import ProduceError
from chassis.logcontext import correlation_headers, new_correlation_id
from chassis.serde import AvroSerde
from ingress.answers import WEBHOOKS, Send, refused, unavailable
from ingress.config import IngressSettings
from ingress.slack import slack_route
from ingress.slack_signature import SlackSignature
from ingress.visma import RejectedNotificationError, parse, verify


def create_app(
    *, settings: IngressSettings, send: Send, serde: AvroSerde, slack_clock: Clock | None = None
) -> FastAPI:
    """`send` stores one record and returns once Kafka confirmed it (AsyncProducer.send);
    `slack_clock` lets a test move the time Slack timestamps are checked against."""
    app = FastAPI(title="ml-connector ingress", docs_url=None, redoc_url=None)
    signing_secret = settings.slack_signing_secret
    signature = SlackSignature(signing_secret, clock=slack_clock) if signing_secret else None
    app.router.routes.append(
        slack_route(settings=settings, send=send, serde=serde, signature=signature)
    )

    @app.post("/webhooks/visma")
    async def visma_webhook(request: Request) -> Response:
        body = await request.body()
        try:
            if settings.visma_webhook_secret is None:
                raise RejectedNotificationError(503, "no Visma webhook key configured")
            verify(settings.visma_webhook_secret, body, request.headers.get(
                settings.visma_signature_header))  # fmt: skip
            notification = parse(body)
        except RejectedNotificationError as exc:
            return refused("visma", exc)
        value = serde.encode(notification.SCHEMA, notification.to_record())
        try:
            await asyncio.wait_for(
                send(settings.visma_topic, key=notification.key, value=value,
                     headers=correlation_headers(new_correlation_id())),
                timeout=settings.ack_timeout_seconds,
            )  # fmt: skip
        except (ProduceError, TimeoutError) as exc:
            return unavailable("visma", exc)
        WEBHOOKS.labels("visma", "stored").inc()
        return JSONResponse({"ok": True, "id": notification.notification_id})

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return app
