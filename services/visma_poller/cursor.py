"""The Visma poller's delta cursor: the chassis's (`chassis.delta_cursor`), shared with the
BILL poller."""

from chassis.delta_cursor import MAX_REMEMBERED, Cursor, PollInProgress, version_of, version_time

__all__ = ["MAX_REMEMBERED", "Cursor", "PollInProgress", "version_of", "version_time"]
