"""`mlc status`'s table: the service a group id names, the held keys under a group's line,
and what an empty selection prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chassis.kafka.held_keys import HeldKey
from chassis.kafka.record import HoldKind
from mlc.group_status import GroupStatus, PartitionLag
from mlc.status import render_table

pytestmark = pytest.mark.unit


def _status(group: str, held: tuple[HeldKey, ...] = ()) -> GroupStatus:
    partitions = (PartitionLag("sink.slack.v1", 0, committed=5, end=9),)
    return GroupStatus(
        group=group, state="STABLE", partitions=partitions, dead_letters=1, held=held
    )


def _held(key: str, minute: int, *, kind: HoldKind = HoldKind.CREDENTIAL_HELD) -> HeldKey:
    since = datetime(2026, 12, 3, 8, minute, 1, tzinfo=UTC)
    until = since + timedelta(hours=2) if kind is HoldKind.DAILY_LIMIT else None
    return HeldKey(group="mlc-slack-sink", key=key, kind=kind, reason="acme: invalid_auth",
                   since=since, until=until, member="m1")  # fmt: skip


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


def test_a_group_without_rate_shows_a_dash_and_no_held_keys() -> None:
    lines = render_table([_status("mlc-slack-sink")]).splitlines()
    assert lines[1].split() == ["slack-sink", "mlc-slack-sink", "STABLE", "4", "-", "1", "0"]
    assert len(lines) == 2


def test_held_keys_are_counted_and_the_first_three_listed_with_kind_and_since() -> None:
    held = (
        _held("C1", 1), _held("C2", 2, kind=HoldKind.DAILY_LIMIT), _held("C3", 3),
        _held("C4", 4), _held("C5", 5),
    )  # fmt: skip
    lines = render_table([_status("mlc-slack-sink", held)]).splitlines()
    assert lines[1].split()[-1] == "5"
    assert lines[2:] == [
        "  held C1  credential-held since 2026-12-03 08:01:01Z: acme: invalid_auth",
        "  held C2  daily-limit since 2026-12-03 08:02:01Z until 2026-12-03 10:02:01Z: "
        "acme: invalid_auth",
        "  held C3  credential-held since 2026-12-03 08:03:01Z: acme: invalid_auth",
        "  ... and 2 more held keys (--json lists all)",
    ]
    shown = _status("mlc-slack-sink", held).as_json()
    assert shown["held_keys"] == 5
    assert [h["key"] for h in shown["held"]] == ["C1", "C2", "C3", "C4", "C5"]
    assert shown["held"][1] == {
        "key": "C2", "kind": "daily-limit", "reason": "acme: invalid_auth",
        "since": "2026-12-03T08:02:01Z", "until": "2026-12-03T10:02:01Z", "member": "m1",
        "instance": None,
    }  # fmt: skip


def test_no_matching_group_says_so() -> None:
    assert render_table([]).splitlines()[1] == "(no consumer group matches)"


def test_columns_stay_aligned_under_a_long_group_id() -> None:
    long_group = "run-20261203-024452-8763-twilio-sink-status"
    lines = render_table([_status("mlc-slack-sink"), _status(long_group)]).splitlines()
    assert len({line.index("STABLE") for line in lines[1:]}) == 1
    assert lines[0].index("STATE") == lines[1].index("STABLE")
