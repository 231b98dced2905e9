"""A transaction whose commit or abort timed out (broker down) is resumed until it is decided.

librdkafka leaves such a commit in progress: it may still succeed, and the next
`begin_transaction` fails with _CONFLICT until it is called again. In a 25-second broker
outage the Visma poller was told its page failed, then crashed on that _CONFLICT.
"""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

import chassis.kafka.producer as producer_module
from chassis.kafka.producer import ProduceError, TransactionalProducer
from chassis.settings import KafkaSettings

pytestmark = pytest.mark.unit


def _timed_out() -> KafkaException:
    return KafkaException(KafkaError(KafkaError._TIMED_OUT, "broker away", retriable=True))


class FakeTransactions:
    """librdkafka's transactional API as it behaves while the broker is down, then back."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.commit_failures = 0
        self.abort_failures = 0
        self.in_progress: str | None = None
        self.committed = 0
        self.aborted = 0
        self.produced: list[bytes] = []

    def init_transactions(self, timeout: float) -> None:
        pass

    def begin_transaction(self) -> None:
        if self.in_progress is not None:
            raise KafkaException(
                KafkaError(KafkaError._CONFLICT, f"Conflicting {self.in_progress} in progress")
            )
        self.in_progress = "transaction"

    def produce(self, topic: str, *, value: bytes, **kwargs: Any) -> None:
        self.produced.append(value)

    def poll(self, timeout: float) -> int:
        return 0

    def commit_transaction(self, timeout: float) -> None:
        self.in_progress = "commit_transaction API call"
        if self.commit_failures:
            self.commit_failures -= 1
            raise _timed_out()
        self.in_progress = None
        self.committed += 1

    def abort_transaction(self, timeout: float) -> None:
        self.in_progress = "abort_transaction API call"
        if self.abort_failures:
            self.abort_failures -= 1
            raise _timed_out()
        self.in_progress = None
        self.aborted += 1


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> list[FakeTransactions]:
    made: list[FakeTransactions] = []

    def build(config: dict[str, Any]) -> FakeTransactions:
        made.append(FakeTransactions(config))
        return made[-1]

    monkeypatch.setattr(producer_module, "Producer", build)
    return made


def test_a_commit_that_timed_out_is_resumed_and_the_next_transaction_begins(
    fake: list[FakeTransactions],
) -> None:
    producer = TransactionalProducer(KafkaSettings(), client="t", transactional_id="t-1")
    [kafka] = fake
    kafka.commit_failures = 2  # two 60-second timeouts while the broker is down
    with producer.transaction() as tx:
        tx.produce("page", value=b"1")
    assert kafka.committed == 1, "told the caller it worked only once it had"
    with producer.transaction() as tx:  # was: _CONFLICT, and the poller crashed
        tx.produce("page", value=b"2")
    assert (kafka.committed, kafka.aborted) == (2, 0)


def test_a_write_refused_inside_the_transaction_aborts_it_resuming_a_timed_out_abort(
    fake: list[FakeTransactions],
) -> None:
    producer = TransactionalProducer(KafkaSettings(), client="t", transactional_id="t-1")
    [kafka] = fake
    kafka.abort_failures = 1
    with pytest.raises(ProduceError), producer.transaction():
        raise KafkaException(KafkaError(KafkaError._QUEUE_FULL, "queue full", retriable=True))
    assert kafka.aborted == 1
    with producer.transaction() as tx:
        tx.produce("page", value=b"again")
    assert kafka.committed == 1
