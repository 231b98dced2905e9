"""Once the handler gives up a held record, the process leaves within the grace period even if
faust's stop never finishes; the countdown starts once however often it is armed, and the
processor's own handler arms it before raising PartitionMovedError."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from processor.stop_watchdog import EXIT_STATUS, StopWatchdog

pytestmark = pytest.mark.unit


def test_an_armed_watchdog_leaves_once_with_its_status_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    left: list[int] = []
    watchdog = StopWatchdog(0.05, leave=left.append)
    with caplog.at_level(logging.ERROR, logger="processor.stop_watchdog"):
        watchdog.arm()
        watchdog.arm()
        assert watchdog.fired.wait(10)
    assert left == [EXIT_STATUS]
    assert any("did not stop within the grace period" in r.getMessage() for r in caplog.records)


def test_a_watchdog_never_armed_never_leaves() -> None:
    left: list[int] = []
    watchdog = StopWatchdog(0.01, leave=left.append)
    assert not watchdog.fired.wait(0.2)
    assert left == []


def test_a_handler_with_a_closed_stream_does_not_keep_the_process_here(tmp_path: Path) -> None:
    left: list[int] = []
    closed = (tmp_path / "log").open("w")
    closed.close()  # as another component's logging set-up can leave a handler's stream
    broken = logging.StreamHandler(closed)
    root = logging.getLogger()
    root.addHandler(broken)
    try:
        watchdog = StopWatchdog(0.01, leave=left.append)
        watchdog.arm()
        assert watchdog.fired.wait(10)
    finally:
        root.removeHandler(broken)
    assert left == [EXIT_STATUS]
