"""librdkafka's log lines: the same message (numbers aside) at most once per interval per
client, and the next one let through says how many were held back."""

from __future__ import annotations

import logging

import pytest

from chassis.kafka.client_log import RepeatLimiter

pytestmark = pytest.mark.unit

REFUSED = (
    "FAIL [rdkafka#consumer-{n}] 127.0.0.1:{port}/bootstrap: Connection refused (after {ms}ms)"
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _record(logger: str, msg: str) -> logging.LogRecord:
    return logging.makeLogRecord({"name": logger, "levelname": "ERROR", "msg": msg})


def test_repeats_within_the_interval_are_held_back_and_counted() -> None:
    clock = Clock()
    limiter = RepeatLimiter(interval=30, clock=clock)

    passed = []
    for ms in range(100):
        clock.now += 0.25  # four refusals a second for 25 s
        record = _record("librdkafka.mlc-sink", REFUSED.format(n=1, port=19092, ms=ms))
        if limiter.filter(record):
            passed.append(record)
    clock.now += 30
    later = _record("librdkafka.mlc-sink", REFUSED.format(n=1, port=19092, ms=7))
    assert limiter.filter(later)

    assert len(passed) == 1
    assert not hasattr(passed[0], "suppressed")
    assert later.suppressed == 99


def test_each_client_and_each_message_has_its_own_allowance() -> None:
    limiter = RepeatLimiter(interval=30, clock=Clock())
    records = [
        _record("librdkafka.mlc-sink", REFUSED.format(n=1, port=1, ms=0)),
        _record("librdkafka.mlc-ingress", REFUSED.format(n=1, port=1, ms=0)),
        _record("librdkafka.mlc-sink", "FAIL [rdkafka#consumer-1] SASL authentication failed"),
        _record("librdkafka.mlc-sink", REFUSED.format(n=1, port=1, ms=5)),
    ]
    assert [limiter.filter(r) for r in records] == [True, True, True, False]
