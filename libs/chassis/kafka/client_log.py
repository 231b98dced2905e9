"""librdkafka's own log lines, through Python logging (so the JSON formatter) and thinned out.

Left alone, every librdkafka client writes plain text to stderr, and a broker outage makes
each client repeat "Connection refused" several times a second: a 25-second outage gave
about 3,100 lines, 1,439 from one service. `client_logger` is the one place that turns those
lines into records of the `librdkafka.<client>` logger, which the service's JSON handler
writes like any other; a `RepeatLimiter` on that logger lets the same message through at
most once per interval per client and says, on the next one it lets through, how many
repeats it held back (`suppressed`).

confluent-kafka hands each line to `logger.log(level, "%s [%s] %s", facility, name, text)`
from the thread that polls the client, so the limiter takes a lock.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

LOGGER_PREFIX = "librdkafka"
# Distinct message shapes remembered per limiter; the oldest is forgotten first.
MAX_SHAPES = 1000
# Numbers (ports, milliseconds, counts, broker ids) vary between otherwise identical lines.
_NUMBERS = re.compile(r"\d+")


@dataclass
class _Seen:
    last_emitted: float
    suppressed: int = 0


class RepeatLimiter(logging.Filter):
    """Passes a message (numbers ignored) at most once per `interval` seconds per logger."""

    def __init__(self, *, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        shape = (record.name, _NUMBERS.sub("#", record.getMessage()))
        now = self._clock()
        with self._lock:
            seen = self._seen.get(shape)
            if seen is not None and now - seen.last_emitted < self._interval:
                seen.suppressed += 1
                return False
            if seen is not None and seen.suppressed:
                record.suppressed = seen.suppressed
            self._seen[shape] = _Seen(last_emitted=now)
            self._seen.move_to_end(shape)
            while len(self._seen) > MAX_SHAPES:
                self._seen.popitem(last=False)
        return True


def client_logger(client: str, *, interval: float) -> logging.Logger:
    """The logger to hand to a librdkafka client as its `logger` setting.

    One logger (and one limiter) per client name, however many clients share the name.
    """
    logger = logging.getLogger(f"{LOGGER_PREFIX}.{client}")
    limiter = next((f for f in logger.filters if isinstance(f, RepeatLimiter)), None)
    if limiter is None:
        logger.addFilter(RepeatLimiter(interval=interval))
    return logger
