"""Approvers' emails to Slack user ids (users.lookupByEmail), asked once per workspace.

An email with no Slack user is remembered as such for a while, so a message mentioning a
former employee does not cost a lookup each time; a later hire is picked up after that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from slack_client.client import SlackClient
from slack_client.errors import SlackCredentialError, SlackRequestError

log = logging.getLogger(__name__)

MISS_SECONDS = 600.0


class Mentions:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._users: dict[tuple[str, str], str] = {}
        self._misses: dict[tuple[str, str], float] = {}

    async def user_ids(
        self, client: SlackClient, workspace: str, emails: Sequence[str]
    ) -> list[str]:
        """The Slack user ids of `emails` that map to a user, in order, without repeats."""
        ids: list[str] = []
        for email in dict.fromkeys(e.strip().lower() for e in emails if e.strip()):
            user_id = await self._lookup(client, workspace, email)
            if user_id is not None and user_id not in ids:
                ids.append(user_id)
        return ids

    async def _lookup(self, client: SlackClient, workspace: str, email: str) -> str | None:
        key = (workspace, email)
        if key in self._users:
            return self._users[key]
        missed = self._misses.get(key)
        if missed is not None and self._clock() - missed < MISS_SECONDS:
            return None
        try:
            user = await client.lookup_user_by_email(email)
        except (SlackRequestError, SlackCredentialError) as exc:
            if isinstance(exc, SlackCredentialError) and exc.error != "missing_scope":
                raise  # the token itself is bad: the caller holds the workspace
            # A mention is a courtesy: the message still goes, without it.
            log.warning("cannot look up an approver", extra={"error": exc.error})
            user = None
        if user is None:
            log.info("no Slack user for an approver's email", extra={"workspace": workspace})
            self._misses[key] = self._clock()
            return None
        self._users[key] = user.id
        self._misses.pop(key, None)
        return user.id
