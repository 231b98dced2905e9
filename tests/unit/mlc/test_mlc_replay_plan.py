"""The replay's plan and its inputs, without a broker: times, offsets, and what each ledger
state makes of a command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chassis.kafka.expiry import Expiry
from chassis.kafka.record import Record
from mlc.replay_contract import EntryState, LedgerState, ReplayCommand
from mlc.replay_group import PartitionWindow
from mlc.replay_plan import Action, KnownEntry, chosen, classify, counts, unmatched
from mlc.replay_times import ReplayUsageError, parse_offsets, parse_time

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
EXPIRY = Expiry(timedelta(days=40))


def _command(n: int, *, age: timedelta = timedelta(hours=1), key: str = "k") -> ReplayCommand:
    written = int((NOW - age).timestamp() * 1000)
    record = Record("sink.slack.v1", 0, n, key, b"", [], timestamp_ms=written)
    return ReplayCommand(record, None, f"cmd-{n}", "entity", None)


def _plan(
    entry: KnownEntry | None,
    *,
    unsearchable: str | None = None,
    age: timedelta = timedelta(hours=1),
) -> tuple[Action, str]:
    planned = classify(
        _command(1, age=age), entry, system="Slack", unsearchable=unsearchable,
        expiry=EXPIRY, now=NOW,
    )  # fmt: skip
    return planned.action, planned.detail


def _entry(
    state: EntryState, external_id: str | None = None, *, age: timedelta = timedelta(minutes=50)
) -> KnownEntry:
    return KnownEntry(LedgerState(state, external_id), NOW - age)


def test_times_are_iso_or_relative_and_never_in_the_future() -> None:
    assert parse_time("2h", now=NOW, option="--from") == NOW - timedelta(hours=2)
    assert parse_time("7d", now=NOW, option="--from") == NOW - timedelta(days=7)
    assert parse_time("30m", now=NOW, option="--from") == NOW - timedelta(minutes=30)
    assert parse_time("2026-12-03T06:00:00Z", now=NOW, option="--from") == NOW - timedelta(hours=3)
    assert parse_time("2026-12-03T06:00:00", now=NOW, option="--from").tzinfo is not None
    with pytest.raises(ReplayUsageError, match="is in the future"):
        parse_time("2026-12-04T00:00:00Z", now=NOW, option="--from")
    with pytest.raises(ReplayUsageError, match="is not a time"):
        parse_time("yesterday", now=NOW, option="--from")


def test_offsets_are_one_for_every_partition_or_pairs() -> None:
    assert parse_offsets(["1200"]) == {None: 1200}
    assert parse_offsets(["3:1200", "0:5"]) == {3: 1200, 0: 5}
    for bad in (["3-1200"], ["1", "2:3"], ["2:1", "2:5"], ["-4"]):
        with pytest.raises(ReplayUsageError):
            parse_offsets(bad)


def test_each_ledger_state_gives_its_action() -> None:
    assert _plan(_entry(EntryState.DONE, "1733.0001")) == (Action.SKIP, "skip: done as 1733.0001")
    assert _plan(_entry(EntryState.FAILED))[0] is Action.SKIP
    assert _plan(_entry(EntryState.PENDING))[0] is Action.HOLD
    assert _plan(_entry(EntryState.RETRY))[0] is Action.SEND
    assert _plan(None) == (
        Action.LOOK_UP,
        "would look up in Slack, send if absent (no ledger entry)",
    )
    action, detail = _plan(None, unsearchable="SendGrid cannot be searched")
    assert action is Action.STOP
    assert detail.endswith("SendGrid cannot be searched")


def test_past_the_horizon_a_command_without_entry_is_refused_and_an_entry_is_forgotten() -> None:
    assert _plan(None, age=timedelta(days=41))[0] is Action.REFUSED
    # The sink forgets an entry past the horizon when it loads the ledger: no entry then.
    old_entry = _entry(EntryState.DONE, "1.0", age=timedelta(days=41))
    assert _plan(old_entry, age=timedelta(days=41))[0] is Action.REFUSED
    assert _plan(old_entry, age=timedelta(days=30))[0] is Action.LOOK_UP


def test_force_chooses_by_command_id_or_record_key_within_the_window() -> None:
    plan = [
        classify(_command(n, key=f"ch-{n % 2}"), None, system="Slack", unsearchable=None,
                 expiry=EXPIRY, now=NOW, in_window=n < 4)
        for n in range(6)
    ]  # fmt: skip
    assert [p.command.command_id for p in chosen(plan, ["cmd-1"])] == ["cmd-1"]
    assert [p.command.command_id for p in chosen(plan, ["ch-0"])] == ["cmd-0", "cmd-2"]
    assert len(chosen(plan, [])) == 4
    assert unmatched(plan, ["cmd-5", "cmd-3"]) == ["cmd-5"]  # cmd-5 is after --to
    assert counts(plan) == "6 look up"


def test_the_reset_never_skips_records_the_group_has_not_consumed() -> None:
    behind = PartitionWindow("t", 0, start=100, stop=500, consumed=40)
    assert behind.reset_to == 40
    assert behind.replayed_until == 100
    ahead = PartitionWindow("t", 0, start=100, stop=500, consumed=450)
    assert ahead.reset_to == 100
    assert ahead.replayed_until == 450
    never = PartitionWindow("t", 0, start=100, stop=500, consumed=-1)
    assert never.reset_to is None  # left to the sink's auto.offset.reset: nothing skipped
    assert never.replayed_until == 100
