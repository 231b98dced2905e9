"""The one dead-letter header set: what it carries, how a failure is classed, and how a
record dead-lettered before the set existed still reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airbase_client.errors import AirbaseCredentialsRefused
from bill_client.errors import BillAuthError
from chassis.errors import (
    ConnectorError,
    PermanentError,
    RetryableError,
    SystemUnavailable,
)
from chassis.kafka.dlq import (
    DeadLetterHeaders,
    FailureClass,
    Origin,
    PoisonRecord,
    dead_letter_headers,
    failure_class,
    redriven_origin,
)
from chassis.kafka.record import Record
from chassis.topics import redrive_subscription, redrive_topic
from monday_client.errors import MondayAuthError
from slack_client.errors import SlackCredentialError
from twilio_client.errors import TwilioAuthError
from visma_client.errors import VismaCredentialsRefused
from visma_writer.ledger import KeptChangingError

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_the_header_set_names_group_position_key_attempts_class_reason_and_time() -> None:
    headers = dead_letter_headers(
        [("correlation-id", b"c-1")],
        group="mlc-slack-sink",
        origin=Origin("sink.slack.v1", 3, 41),
        key="C123",
        attempts=7,
        failure=FailureClass.TRANSIENT_EXHAUSTED,
        reason="retry budget of 60s spent after 7 attempts: boom",
        at=AT,
    )

    assert dict(headers) == {
        "correlation-id": b"c-1",
        "dlq-group": b"mlc-slack-sink",
        "dlq-topic": b"sink.slack.v1",
        "dlq-partition": b"3",
        "dlq-offset": b"41",
        "dlq-key": b"C123",
        "dlq-attempts": b"7",
        "dlq-class": b"transient-exhausted",
        "dlq-reason": b"retry budget of 60s spent after 7 attempts: boom",
        "dlq-at": b"2026-12-03T09:00:00+00:00",
    }
    read = DeadLetterHeaders.read(headers)
    assert (read.group, read.topic, read.partition, read.offset, read.key) == (
        "mlc-slack-sink", "sink.slack.v1", 3, 41, "C123"
    )  # fmt: skip
    assert (read.attempts, read.failure, read.at) == (
        7, FailureClass.TRANSIENT_EXHAUSTED, "2026-12-03T09:00:00+00:00"
    )  # fmt: skip


def test_a_record_dead_lettered_again_carries_one_set_the_new_one() -> None:
    first = dead_letter_headers(
        [("redrive-of", b"g:0:4")], group="g", origin=Origin("t", 0, 9), key="k",
        attempts=1, failure=FailureClass.AUTH, reason="refused", at=AT,
    )  # fmt: skip
    again = dead_letter_headers(
        first, group="g", origin=Origin("t", 0, 9), key="k",
        attempts=2, failure=FailureClass.PERMANENT, reason="gone", at=AT,
    )  # fmt: skip

    names = [name for name, _ in again]
    assert len(names) == len(set(names))
    read = DeadLetterHeaders.read(again)
    assert (read.failure, read.reason, read.attempts) == (FailureClass.PERMANENT, "gone", 2)
    assert read.redrive_of == "g:0:4"


def test_the_reason_is_cut_at_a_thousand_characters() -> None:
    headers = dead_letter_headers(
        [], group="g", origin=None, key=None, attempts=1,
        failure=FailureClass.POISON, reason="x" * 5000, at=AT,
    )  # fmt: skip
    assert len(dict(headers)["dlq-reason"]) == 1000


def test_a_dead_letter_from_before_the_header_set_reads_as_unknown() -> None:
    older = [
        ("dlq-reason", b"PermanentError: channel_not_found"),
        ("dlq-topic", b"sink.slack.v1"),
        ("dlq-partition", b"0"),
        ("dlq-offset", b"12"),
    ]
    read = DeadLetterHeaders.read(older)
    assert read.failure is FailureClass.UNKNOWN
    assert (read.group, read.key, read.at) == ("unknown", "unknown", "unknown")
    assert read.attempts is None
    assert (read.topic, read.partition, read.offset) == ("sink.slack.v1", 0, 12)
    assert read.reason == "PermanentError: channel_not_found"
    assert DeadLetterHeaders.read([("dlq-class", b"gremlins")]).failure is FailureClass.UNKNOWN


@pytest.mark.parametrize(
    ("error", "budget_spent", "expected"),
    [
        (PoisonRecord("undecodable value"), False, FailureClass.POISON),
        (SlackCredentialError("invalid_auth", error="invalid_auth"), False, FailureClass.AUTH),
        (TwilioAuthError("20003", status=401), False, FailureClass.AUTH),
        (VismaCredentialsRefused("invalid_client"), False, FailureClass.AUTH),
        (MondayAuthError("not authenticated"), False, FailureClass.AUTH),
        (BillAuthError("BDC_1109"), False, FailureClass.AUTH),
        (AirbaseCredentialsRefused("Invalid token."), False, FailureClass.AUTH),
        (KeptChangingError("412 every time"), True, FailureClass.CONFLICT),
        (RetryableError("503 again"), True, FailureClass.TRANSIENT_EXHAUSTED),
        (ValueError("a bug"), True, FailureClass.TRANSIENT_EXHAUSTED),
        (PermanentError("channel_not_found"), False, FailureClass.PERMANENT),
        (ConnectorError("neither branch"), False, FailureClass.PERMANENT),
    ],
)
def test_the_class_comes_from_the_exception(
    error: Exception, budget_spent: bool, expected: FailureClass
) -> None:
    assert failure_class(error, budget_spent=budget_spent) is expected


def test_an_outage_never_classes_as_permanent() -> None:
    assert failure_class(SystemUnavailable("down"), budget_spent=True) is (
        FailureClass.TRANSIENT_EXHAUSTED
    )


def test_a_redriven_record_is_handled_as_its_original() -> None:
    headers = dead_letter_headers(
        [], group="g", origin=Origin("sink.sms.v1", 2, 77), key="k", attempts=3,
        failure=FailureClass.AUTH, reason="refused", at=AT,
    )  # fmt: skip
    origin = redriven_origin(headers)
    record = Record(
        topic=redrive_topic("g").name, partition=0, offset=5, key="k", raw=b"", headers=headers,
        origin=origin,
    )  # fmt: skip
    assert (record.source_topic, record.source_partition) == ("sink.sms.v1", 2)
    assert redriven_origin([("dlq-topic", b"t")]) is None


def test_the_redrive_subscription_matches_only_its_groups_topic() -> None:
    import re

    pattern = re.compile(redrive_subscription("mlc-slack.sink"))
    assert pattern.match("redrive.mlc-slack.sink.v1")
    assert not pattern.match("redrive.mlc-slackxsink.v1")
    assert not pattern.match("redrive.mlc-slack.sink.v1.other")
