"""A refused Kafka login is remembered so the call that failed can name it; nothing else is."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError

from chassis.errors import PermanentError
from chassis.kafka.client_errors import latest_refusal, record_refusal

pytestmark = pytest.mark.unit


def test_a_refused_login_is_the_error_of_the_calls_after_it() -> None:
    before = time.monotonic()
    record_refusal(KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: invalid"))

    refusal = latest_refusal(since=before)

    assert isinstance(refusal, PermanentError)
    assert "SASL authentication error: invalid" in str(refusal)
    assert latest_refusal(since=time.monotonic() + 1) is None, "older refusals may be fixed"


def test_other_client_errors_are_not_refusals() -> None:
    before = time.monotonic()
    record_refusal(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    record_refusal(KafkaError(KafkaError._TRANSPORT, "Connection refused"))
    assert latest_refusal(since=before) is None
