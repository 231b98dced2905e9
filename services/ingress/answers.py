"""The answers every webhook route shares: refused, cannot store now, and the counter of both.

A sender (Visma, Slack) retries what was not answered 2xx, so "cannot store now" is a 503
with Retry-After, never a 2xx: the ingress acknowledges only what Kafka has confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse
from prometheus_client import Counter

from ingress.config import MAX_RECORD_BYTES
from ingress.errors import RETRY_AFTER_SECONDS, NotAcceptingNowError, RejectedNotificationError

log = logging.getLogger(__name__)

Send = Callable[..., Awaitable[None]]
"""Stores one record; returns once Kafka confirmed it, raises ProduceError if it will not."""

WEBHOOKS = Counter("mlc_ingress_webhooks_total", "Webhooks received", ["source", "outcome"])


def refused(source: str, exc: RejectedNotificationError | NotAcceptingNowError) -> JSONResponse:
    """A 4xx for what will never be accepted, a 503 with Retry-After for what may be later."""
    WEBHOOKS.labels(source, f"rejected_{exc.status}").inc()
    log.warning("webhook rejected", extra={"source": source, "reason": exc.reason})
    headers = {}
    if isinstance(exc, NotAcceptingNowError) and exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return JSONResponse({"ok": False, "error": exc.reason}, status_code=exc.status, headers=headers)


def unavailable(source: str, exc: Exception) -> JSONResponse:
    WEBHOOKS.labels(source, "unavailable").inc()
    reason = str(exc) or f"no answer from Kafka in time ({type(exc).__name__})"
    log.error("webhook not stored", extra={"source": source, "error": reason})
    return JSONResponse(
        {"ok": False, "error": "cannot store the notification now"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def fits_in_kafka(value: bytes) -> bytes:
    """The record value, or a 413: Kafka refuses a record over its maximum message size at
    produce time, and no retry of the same request could ever be stored."""
    if len(value) > MAX_RECORD_BYTES:
        raise RejectedNotificationError(
            413, f"the record would be {len(value)} bytes, over Kafka's {MAX_RECORD_BYTES}"
        )
    return value
