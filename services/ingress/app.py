"""The ingress HTTP app: routes translate and delegate, Kafka is behind an injected sender."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, generate_latest

from chassis.kafka.producer import ProduceError
from chassis.logcontext import correlation_headers, new_correlation_id
from chassis.serde import AvroSerde
from ingress.config import IngressSettings
from ingress.visma import RejectedNotificationError, parse, verify

log = logging.getLogger(__name__)

Send = Callable[..., Awaitable[None]]
WEBHOOKS = Counter("mlc_ingress_webhooks_total", "Webhooks received", ["source", "outcome"])


def create_app(*, settings: IngressSettings, send: Send, serde: AvroSerde) -> FastAPI:
    app = FastAPI(title="ml-connector ingress", docs_url=None, redoc_url=None)

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
            WEBHOOKS.labels("visma", f"rejected_{exc.status}").inc()
            log.warning("webhook rejected", extra={"source": "visma", "reason": exc.reason})
            return JSONResponse({"ok": False, "error": exc.reason}, status_code=exc.status)
        value = serde.encode(notification.SCHEMA, notification.to_record())
        try:
            await asyncio.wait_for(
                send(settings.visma_topic, key=notification.key, value=value,
                     headers=correlation_headers(new_correlation_id())),
                timeout=settings.ack_timeout_seconds,
            )  # fmt: skip
        except (ProduceError, TimeoutError) as exc:
            WEBHOOKS.labels("visma", "unavailable").inc()
            log.error("webhook not stored", extra={"source": "visma", "error": str(exc)})
            return JSONResponse(
                {"ok": False, "error": "cannot store the notification now"},
                status_code=503, headers={"Retry-After": "5"},
            )  # fmt: skip
        WEBHOOKS.labels("visma", "stored").inc()
        return JSONResponse({"ok": True, "id": notification.notification_id})

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return app
