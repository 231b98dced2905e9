"""A service at start waits for the leaders of the topics it created for as long as a busy or
starting broker may take (CI saw more than 30 s), saying so in a log line, and fails clearly
only after `leader_timeout`."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from tests.unit.chassis.admin_kit import RecordingAdmin

from chassis import topics
from chassis.topics import TopicError, TopicSpec, ensure_topics

pytestmark = pytest.mark.unit


class SlowLeaders(RecordingAdmin):
    """New topics get a leader only once the fake clock passes `ready_at`."""

    def __init__(self, clock: list[float], ready_at: float) -> None:
        super().__init__()
        self.clock, self.ready_at = clock, ready_at

    def list_topics(self, timeout: float) -> SimpleNamespace:
        leader = 1 if self.clock[0] >= self.ready_at else -1
        partitions = {0: SimpleNamespace(leader=leader)}
        return SimpleNamespace(
            topics={n: SimpleNamespace(partitions=partitions) for n in self.created}
        )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [0.0]
    monkeypatch.setattr(topics.time, "monotonic", lambda: now[0])

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(topics.time, "sleep", sleep)
    return now


def test_leaders_that_take_45_seconds_are_waited_for_with_one_warning(
    clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    admin = SlowLeaders(clock, ready_at=45.0)
    with caplog.at_level(logging.WARNING, logger="chassis.topics"):
        ensure_topics(admin, [TopicSpec("t.slow", 1)], replication_factor=1)  # type: ignore[arg-type]
    assert clock[0] >= 45.0
    warnings = [r.getMessage() for r in caplog.records if r.name == "chassis.topics"]
    assert warnings == ["new topics have no leader yet; waiting"]


def test_leaders_that_never_come_fail_after_the_leader_timeout(clock: list[float]) -> None:
    admin = SlowLeaders(clock, ready_at=float("inf"))
    with pytest.raises(TopicError, match="no leader after 60"):
        ensure_topics(admin, [TopicSpec("t.never", 1)], replication_factor=1, leader_timeout=60.0)  # type: ignore[arg-type]
    assert 60.0 <= clock[0] < 61.0
