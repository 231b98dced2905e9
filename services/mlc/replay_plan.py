"""The replay's plan: what happens to each command of the window, decided without side effects.

Per command, from its newest ledger entry (as the sink loads it: an entry older than the
horizon is forgotten) and its age:

    entry DONE or FAILED          skip       the sink skips it (DONE: with its external id)
    entry PENDING                 hold       the sink itself looks in the system first
    entry "refused, sent nothing" send       the last attempt did nothing: the sink sends
    no entry, older than horizon  refused    the sink refuses it (dead-lettered, not sent)
    no entry, searchable          look up    looked for in the system; sent only if absent
    no entry, not searchable      stop       the replay stops unless the command is forced

Nothing here calls Kafka or an external system: `replay.py` reads the records and the
ledger, and acts on the plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from chassis.kafka.expiry import Expiry
from mlc.replay_contract import EntryState, LedgerState, ReplayCommand


class Action(StrEnum):
    SKIP = "skip"
    HOLD = "hold"
    SEND = "send"
    LOOK_UP = "look up"
    STOP = "stop"
    REFUSED = "refused"


@dataclass(frozen=True)
class Planned:
    command: ReplayCommand
    action: Action
    detail: str
    external_id: str | None = None
    in_window: bool = True
    """Before `--to` (re-read records after it are planned too, since the sink reads them)."""


@dataclass(frozen=True)
class KnownEntry:
    """A ledger entry as read: its meaning to the sink and when the sink wrote it."""

    state: LedgerState
    written_at: datetime


def classify(
    command: ReplayCommand,
    entry: KnownEntry | None,
    *,
    system: str,
    unsearchable: str | None,
    expiry: Expiry,
    now: datetime,
    in_window: bool = True,
) -> Planned:
    """What happens to `command` (see the module's docstring)."""
    if entry is not None and expiry.expired(entry.written_at, now):
        entry = None  # the sink forgets it when it loads its ledger
    if entry is not None:
        return _by_entry(command, entry.state, system=system, in_window=in_window)
    written = command.record.timestamp_ms
    if written is not None and expiry.too_old(written, now):
        return Planned(
            command, Action.REFUSED,
            f"refused: beyond the ledger horizon ({expiry.horizon.days} days); the sink "
            "dead-letters it, not sent",
            in_window=in_window,
        )  # fmt: skip
    if unsearchable is not None:
        return Planned(
            command, Action.STOP,
            f"would stop: no ledger entry and {unsearchable}", in_window=in_window,
        )  # fmt: skip
    return Planned(
        command, Action.LOOK_UP,
        f"would look up in {system}, send if absent (no ledger entry)", in_window=in_window,
    )  # fmt: skip


def _by_entry(
    command: ReplayCommand, state: LedgerState, *, system: str, in_window: bool
) -> Planned:
    if state.state is EntryState.DONE:
        shown = state.external_id or "(no external id)"
        return Planned(command, Action.SKIP, f"skip: done as {shown}", state.external_id, in_window)
    if state.state is EntryState.FAILED:
        return Planned(
            command, Action.SKIP, f"skip: {state.detail or 'failed for good'}", None, in_window
        )
    if state.state is EntryState.RETRY:
        reason = state.detail or "the last attempt was refused"
        return Planned(command, Action.SEND, f"send: {reason}, nothing sent", None, in_window)
    return Planned(
        command, Action.HOLD,
        f"hold: PENDING, the sink looks in {system} before it sends again", None, in_window,
    )  # fmt: skip


def matches(planned: Planned, keys: Iterable[str]) -> bool:
    """`--key` names a command id (the ledger's key) or a command record's key."""
    wanted = set(keys)
    return planned.command.command_id in wanted or planned.command.record.key in wanted


def chosen(plan: Sequence[Planned], keys: Sequence[str]) -> list[Planned]:
    """The commands `--mode force` repeats: those `keys` name in the window, else all of it."""
    in_window = [p for p in plan if p.in_window]
    return [p for p in in_window if matches(p, keys)] if keys else in_window


def unmatched(plan: Sequence[Planned], keys: Sequence[str]) -> list[str]:
    return [k for k in keys if not any(matches(p, [k]) for p in plan if p.in_window)]


def line(planned: Planned) -> str:
    return f"{planned.command.position:40} {planned.command.command_id}  {planned.detail}"


def counts(plan: Iterable[Planned]) -> str:
    """`500 skip, 3 look up` in the order of `Action`, zero counts left out."""
    found: Counter[Action] = Counter(p.action for p in plan)
    shown = [f"{found[a]} {a.value}" for a in Action if found[a]]
    return ", ".join(shown) or "nothing"


def ledger_time(fields: dict[str, Any]) -> datetime:
    """When the sink wrote an entry (every ledger entry has `at`)."""
    written: datetime = fields["at"]
    return written
