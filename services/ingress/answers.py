"""The answers every webhook route shares: refused, cannot store now, and the counter of both.

A sender (Visma, Slack) retries what was not answered 2xx, so "cannot store now" is a 503
with Retry-After, never a 2xx: the ingress acknowledges only what Kafka has confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse
from prometheus_client import Counter

from ingress.errors import RejectedNotificationError

log = logging.getLogger(__name__)

Send = Callable[..., Awaitable[None]]
"""Stores one record; returns once Kafka confirmed it, raises ProduceError if it will not."""

WEBHOOKS = Counter("mlc_ingress_webhooks_total", "Webhooks received", ["source", "outcome"])
RETRY_AFTER_SECONDS = 5


def refused(source: str, exc: RejectedNotificationError) -> JSONResponse:
    WEBHOOKS.labels(source, f"rejected_{exc.status}").inc()
    log.warning("webhook rejected", extra={"source": source, "reason": exc.reason})
    return JSONResponse({"ok": False, "error": exc.reason}, status_code=exc.status)


def unavailable(source: str, exc: Exception) -> JSONResponse:
    WEBHOOKS.labels(source, "unavailable").inc()
    reason = str(exc) or f"no answer from Kafka in time ({type(exc).__name__})"
    log.error("webhook not stored", extra={"source": source, "error": reason})
    return JSONResponse(
        {"ok": False, "error": "cannot store the notification now"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
