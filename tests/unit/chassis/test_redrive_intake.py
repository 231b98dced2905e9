"""The runner's side of a redrive without a broker: which records are redriven, which
partitions carry state, and when a borrowed partition's state is loaded and let go."""

from __future__ import annotations

from chassis.kafka.dlq import FailureClass, Origin, dead_letter_headers
from chassis.kafka.record import Record
from chassis.kafka.redriven import RedriveIntake

GROUP, SMS, EMAIL = "twilio-sink", "sink.sms.v1", "sink.email.v1"
REDRIVE = "redrive.twilio-sink.v1"


def redriven(origin: Origin) -> Record:
    headers = dead_letter_headers(
        [], group=GROUP, origin=origin, key="k", attempts=1,
        failure=FailureClass.AUTH, reason="refused",
    )  # fmt: skip
    return Record(topic=REDRIVE, partition=0, offset=3, key="k", raw=b"", headers=headers)


def test_only_records_of_the_groups_redrive_topic_are_taken_as_redriven() -> None:
    intake = RedriveIntake(GROUP, (SMS, EMAIL))
    record = redriven(Origin(EMAIL, 2, 40))
    intake.take(record)
    assert record.origin == Origin(EMAIL, 2, 40)
    plain = Record(topic=SMS, partition=0, offset=1, key="k", raw=b"", headers=record.headers)
    intake.take(plain)
    assert plain.origin is None
    assert intake.stateful([(REDRIVE, 0), (SMS, 1), (EMAIL, 2)]) == [(SMS, 1), (EMAIL, 2)]


def test_a_partition_not_ours_is_borrowed_once_and_let_go_with_the_redrive_partition() -> None:
    intake = RedriveIntake(GROUP, (SMS, EMAIL))
    record = redriven(Origin(EMAIL, 2, 40))
    intake.take(record)
    owned = {(SMS, 0), (EMAIL, 0), (REDRIVE, 0)}

    assert intake.to_borrow(record, owned) == (EMAIL, 2)
    intake.borrowed((EMAIL, 2))
    assert intake.to_borrow(record, owned) is None  # loaded already
    assert intake.let_go([(SMS, 0)]) == [(SMS, 0)]  # the redrive partition stays: kept
    assert intake.let_go([(REDRIVE, 0), (SMS, 0)]) == [(EMAIL, 2), (SMS, 0)]
    assert intake.let_go([(REDRIVE, 0)]) == []


def test_a_borrowed_partition_assigned_later_is_ours_and_not_let_go_with_the_redrive() -> None:
    intake = RedriveIntake(GROUP, (SMS,))
    record = redriven(Origin(SMS, 4, 1))
    intake.take(record)
    intake.borrowed((SMS, 4))
    intake.owned_now([(SMS, 4)])
    assert intake.let_go([(REDRIVE, 0)]) == []
    assert intake.to_borrow(record, {(SMS, 4)}) is None


def test_a_record_whose_origin_is_no_input_of_the_group_borrows_nothing() -> None:
    intake = RedriveIntake(GROUP, (SMS,))
    record = redriven(Origin("sink.slack.v1", 1, 9))
    intake.take(record)
    assert intake.to_borrow(record, set()) is None
