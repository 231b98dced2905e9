"""How long a command ledger remembers, and the rule that makes forgetting safe.

A ledger entry says a command's side effect happened (DONE) or may have (PENDING); forgetting
it lets a redelivered command act again. So an entry may only expire once its command can no
longer be delivered, and a command that could outlive its entry is refused rather than acted
on:

- the horizon must exceed the command topic's retention (checked where the sink is built),
  so an offset reset cannot reach a command whose entry has already expired, and
- a command written longer ago than the horizon (less a margin for the clocks of the
  producer and the sink) is refused whatever the topic keeps: Kafka deletes whole segments,
  so records can outlive `retention.ms`, and an operator can change retention on the broker.
  Refused means dead-lettered with the reason; a redrive from the DLQ is a new record, which
  is how an operator forces a command past the horizon on purpose.

Entries expire by the time the sink wrote them (`at`), which is after the command was written,
so a command within `horizon - clock_margin` always finds an entry that has not expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chassis.errors import PermanentError
from chassis.topics import TopicSpec

__all__ = ["CommandBeyondHorizonError", "Expiry", "HorizonConfigError"]

DEFAULT_HORIZON = timedelta(days=40)
"""Above the 30-day retention of the command topics, with room for a segment's lifetime."""


class HorizonConfigError(PermanentError):
    """The ledger would forget commands that the command topic can still deliver."""


class CommandBeyondHorizonError(PermanentError):
    """The command is older than the ledger's memory: acting on it could repeat its effect."""


@dataclass(frozen=True)
class Expiry:
    horizon: timedelta = DEFAULT_HORIZON
    clock_margin: timedelta = timedelta(hours=1)
    """Allowed difference between the clocks of the command's producer and the sink."""

    def __post_init__(self) -> None:
        if self.horizon <= self.clock_margin:
            raise HorizonConfigError(
                f"horizon {self.horizon} must exceed the clock margin {self.clock_margin}"
            )

    def expired(self, written_at: datetime, now: datetime) -> bool:
        """Whether an entry the sink wrote at `written_at` may be forgotten."""
        return now - written_at > self.horizon

    def too_old(self, command_ms: int, now: datetime) -> bool:
        """Whether a command written at `command_ms` may have outlived its ledger entry."""
        age = now - datetime.fromtimestamp(command_ms / 1000, tz=now.tzinfo)
        return age > self.horizon - self.clock_margin

    def check_covers(self, commands: TopicSpec) -> None:
        """Refuses a horizon that the command topic's retention reaches past."""
        if commands.compacted:
            raise HorizonConfigError(
                f"{commands.name} is compacted and keeps commands forever; "
                "a ledger with a horizon cannot guard it"
            )
        retention = timedelta(milliseconds=commands.retention_ms)
        if self.horizon - self.clock_margin <= retention:
            raise HorizonConfigError(
                f"horizon {self.horizon} (less the clock margin {self.clock_margin}) must "
                f"exceed the retention of {commands.name} ({retention}): a replay could reach "
                "records whose ledger entries or markers have expired"
            )
