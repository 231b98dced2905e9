"""What librdkafka reports outside any call: a broker that refused this process's credentials.

librdkafka keeps retrying a refused login in the background and says why only in its log and
to an `error_cb`; a call such as `list_topics` then fails with a bare "broker transport
failure". Every chassis client gets `record_refusal` as its `error_cb`, which remembers the
latest refusal of the process (one process, one set of `KAFKA_*` credentials), so the call
that failed can name the real cause: `ensure_topics`, which every service runs first, raises
`KafkaAuthenticationFailed` with librdkafka's own words instead of a timeout.

The callback never raises: a client polled on a background thread (a producer's delivery
thread, a view) would die of it, and a refusal can be fixed on the broker's side while the
process runs; librdkafka then logs in again by itself.
"""

from __future__ import annotations

import threading
import time

from confluent_kafka import KafkaError

from chassis.errors import PermanentError

# librdkafka's codes for a refused login and a failed TLS handshake (certificate not trusted).
_REFUSALS = {KafkaError._AUTHENTICATION, KafkaError._SSL}


class KafkaAuthenticationFailed(PermanentError):
    """The broker refused this client's SASL credentials, or the TLS handshake failed:
    no retry helps until the settings (KAFKA_SASL_*, KAFKA_SSL_*) or the broker change."""


_lock = threading.Lock()
_latest: tuple[float, str] | None = None


def record_refusal(error: KafkaError) -> None:
    """librdkafka's `error_cb`: remembers a refused login; other errors are in the log."""
    global _latest
    if error.code() in _REFUSALS:
        with _lock:
            _latest = (time.monotonic(), error.str())


def latest_refusal(*, since: float) -> KafkaAuthenticationFailed | None:
    """The latest refused login reported at or after `since` (`time.monotonic()`), as the
    error to raise; an older one may have been fixed on the broker since."""
    with _lock:
        if _latest is None or _latest[0] < since:
            return None
        return KafkaAuthenticationFailed(f"Kafka refused this client: {_latest[1]}")
