"""Store one webhook's record in Kafka once, then answer: the step every route ends with.

The record must fit in Kafka (413 otherwise, also when the broker says so: no retry could
store it); it is written once per id however often it arrives (RecentEvents); the sender
hears 200 only once Kafka confirmed it, and 503 with Retry-After when Kafka did not within
the ack timeout, so the sender retries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from chassis.kafka.async_producer import RecordTooLargeError
from chassis.kafka.producer import ProduceError
from chassis.logcontext import correlation_headers, new_correlation_id
from ingress.answers import WEBHOOKS, Send, fits_in_kafka, refused, unavailable
from ingress.dedupe import Outcome, RecentEvents
from ingress.errors import RejectedNotificationError


@dataclass(frozen=True)
class RecordStore:
    source: str
    topic: str
    send: Send
    recent: RecentEvents
    ack_timeout_seconds: float

    async def store_once(
        self, record_id: str, *, key: str, value: bytes, answer: dict[str, str]
    ) -> Response:
        """Writes `value` unless `record_id` is stored or being stored; `answer` goes into
        the 200's JSON with whether this was a duplicate."""
        try:
            value = fits_in_kafka(value)
        except RejectedNotificationError as exc:
            return refused(self.source, exc)

        async def write() -> None:
            await self.send(self.topic, key=key, value=value,
                            headers=correlation_headers(new_correlation_id()))  # fmt: skip

        try:
            async with asyncio.timeout(self.ack_timeout_seconds):
                outcome = await self.recent.store_once(record_id, write)
        except RecordTooLargeError as exc:
            return refused(self.source, RejectedNotificationError(413, str(exc)))
        except (ProduceError, TimeoutError) as exc:
            return unavailable(self.source, exc)
        WEBHOOKS.labels(self.source, outcome.value).inc()
        return JSONResponse({"ok": True, **answer, "duplicate": outcome is Outcome.DUPLICATE})
