"""Waiting out a `Held` record: kept unfinished until the handler's `released()` says the
outside world changed, then handled again.

A hold is not a failure: the attempt does not count towards dead-lettering, nothing is
committed past the record, and its key waits while other keys go on. The wait gives up
(and the record is redelivered later) when the runner stops or loses the partition, so a
hold never blocks a shutdown or a rebalance for longer than one check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from prometheus_client import Gauge

from chassis.kafka.record import Held, Record

__all__ = ["HELD", "HOLD_CHECK_SECONDS", "Held", "wait_for_release"]

log = logging.getLogger(__name__)

HELD = Gauge("mlc_records_held", "Records a handler holds until released", ["group"])
HOLD_CHECK_SECONDS = 0.5
"""How often a held record looks whether the runner stops or lost its partition."""


async def wait_for_release(
    records: list[Record], held: Held, *, group: str, let_go: Callable[[], bool]
) -> bool:
    """True once released (call the handler again); False when `let_go()` became true first,
    leaving the records unfinished for redelivery."""
    for record in records:
        record.attempts -= 1  # a hold is no failed attempt: it must never dead-letter
        record.held = True
    HELD.labels(group).inc(len(records))
    log.warning("held", extra={"record": records[0].position, "reason": str(held)})
    release = asyncio.ensure_future(held.released())
    try:
        while not release.done():
            if let_go():
                return False
            await asyncio.wait({release}, timeout=HOLD_CHECK_SECONDS)
        if release.exception() is not None:  # a broken release must not end the key
            log.error("release of a hold failed", extra={"error": str(release.exception())})
        return True
    finally:
        release.cancel()
        HELD.labels(group).dec(len(records))
        for record in records:
            record.held = False
