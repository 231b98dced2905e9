"""`mlc status`'s table: the service a group id names, and what an empty selection prints."""

from __future__ import annotations

import pytest

from mlc.group_status import GroupStatus, PartitionLag
from mlc.status import render_table

pytestmark = pytest.mark.unit


def _status(group: str) -> GroupStatus:
    partitions = (PartitionLag("sink.slack.v1", 0, committed=5, end=9),)
    return GroupStatus(group=group, state="STABLE", partitions=partitions, dead_letters=1)


@pytest.mark.parametrize(
    ("group", "service"),
    [
        ("mlc-slack-sink", "slack-sink"),
        ("run-3f2a9c-twilio-sink-status", "twilio-sink-status"),
        ("run-20261203-071300-ab12-slack-sink", "slack-sink"),  # a demo run's
        ("someone-elses-group", "someone-elses-group"),
    ],
)
def test_the_service_is_the_group_id_without_its_deployment_prefix(
    group: str, service: str
) -> None:
    assert _status(group).service == service


def test_a_group_without_rate_shows_a_dash_and_held_keys_not_exposed() -> None:
    line = render_table([_status("mlc-slack-sink")]).splitlines()[1]
    assert line.split() == [
        "slack-sink",
        "mlc-slack-sink",
        "STABLE",
        "4",
        "-",
        "1",
        "not",
        "exposed",
    ]


def test_no_matching_group_says_so() -> None:
    assert render_table([]).splitlines()[1] == "(no consumer group matches)"


def test_columns_stay_aligned_under_a_long_group_id() -> None:
    long_group = "run-20261203-024452-8763-twilio-sink-status"
    lines = render_table([_status("mlc-slack-sink"), _status(long_group)]).splitlines()
    assert len({line.index("STABLE") for line in lines[1:]}) == 1
    assert lines[0].index("STATE") == lines[1].index("STABLE")
