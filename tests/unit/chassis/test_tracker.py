"""PartitionTracker: the committed offset never passes the oldest unfinished record."""

from __future__ import annotations

import pytest

from chassis.kafka.tracker import PartitionTracker

pytestmark = pytest.mark.unit


def _started(*offsets: int) -> PartitionTracker:
    tracker = PartitionTracker()
    for offset in offsets:
        tracker.started(offset)
    return tracker


def test_nothing_is_committable_before_anything_finishes() -> None:
    tracker = _started(10, 11, 12)

    assert tracker.committable() is None
    assert tracker.in_flight == 3


def test_out_of_order_finishes_commit_only_below_the_oldest_unfinished() -> None:
    tracker = _started(10, 11, 12, 13)

    tracker.finished(12)
    tracker.finished(13)
    assert tracker.committable() is None  # 10 is still running
    assert tracker.in_flight == 4

    tracker.finished(10)
    assert tracker.committable() == 11  # 11 is still running, so 11 is the next to read
    assert tracker.in_flight == 3

    tracker.finished(11)
    assert tracker.committable() == 14
    assert tracker.in_flight == 0


def test_gaps_in_offsets_are_fine() -> None:
    # Compacted topics and transaction markers leave holes in the offsets.
    tracker = _started(3, 7, 20)

    tracker.finished(7)
    assert tracker.committable() is None
    tracker.finished(3)
    assert tracker.committable() == 8
    tracker.finished(20)
    assert tracker.committable() == 21


def test_committable_is_none_once_committed_until_something_new_finishes() -> None:
    tracker = _started(0, 1, 2)
    tracker.finished(0)
    assert tracker.committable() == 1

    tracker.mark_committed(1)
    assert tracker.committable() is None

    tracker.finished(2)
    assert tracker.committable() is None  # 1 still blocks the way
    tracker.finished(1)
    assert tracker.committable() == 3
    tracker.mark_committed(3)
    assert tracker.committable() is None


def test_a_commit_of_an_older_offset_leaves_the_newer_one_committable() -> None:
    # A commit sent for offset 1 may confirm after offset 2 became committable.
    tracker = _started(0, 1)
    tracker.finished(0)
    tracker.finished(1)

    tracker.mark_committed(1)

    assert tracker.committable() == 2


def test_later_records_may_start_while_earlier_ones_run() -> None:
    tracker = _started(0)
    tracker.finished(0)
    tracker.started(1)
    tracker.started(2)
    tracker.finished(2)

    assert tracker.committable() == 1
    assert tracker.in_flight == 2


@pytest.mark.parametrize("offset", [4, 5])
def test_offsets_must_increase(offset: int) -> None:
    tracker = _started(3, 5)

    with pytest.raises(ValueError, match=f"offset {offset} arrived after 5"):
        tracker.started(offset)
    assert tracker.in_flight == 2
