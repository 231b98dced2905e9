"""monday.com failures, classed by whether a retry can help; `code` is monday's own code.

::

    MondayError (ConnectorError)
    ├── MondayUnavailable       SystemUnavailable  5xx, a transport failure, INTERNAL_SERVER_ERROR
    ├── MondayRateLimited       SystemUnavailable  429 / complexity budget / concurrency still
    │                                              refused after the client's bounded waits
    ├── MondayDailyLimitReached SystemUnavailable  DAILY_LIMIT_EXCEEDED: the token's calls are
    │                                              spent until `resets_at` (midnight UTC)
    ├── MondayCursorExpired     RetryableError     an items_page cursor outlived its 60 minutes:
    │                                              start the listing again
    ├── MondayAuthError         PermanentError     401, UNAUTHENTICATED, a token without access
    ├── MondayBoardNotFound     PermanentError     InvalidBoardIdException, or no such board
    ├── MondayInvalidInput      PermanentError     a value, column, group or item monday refused;
    │                                              `column_id` / `field` name what is at fault
    └── MondayRequestError      PermanentError     anything else monday refused (a document
                                                   that does not validate, a query too complex)

Every limit refusal (complexity, per minute, concurrency, daily) is monday saying "not now"
before doing any work, so repeating the call is safe. A 5xx or a timeout leaves open whether
a mutation was applied (`refused` is False): a writer looks for its item before creating it
again. The daily limit is a `SystemUnavailable` on purpose: it says nothing about the record,
so a runner that has not caught it holds the work instead of dead-lettering it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chassis.errors import (
    ConnectorError,
    CredentialRefused,
    PermanentError,
    RetryableError,
    SystemUnavailable,
)

__all__ = [
    "MondayAuthError",
    "MondayBoardNotFound",
    "MondayCursorExpired",
    "MondayDailyLimitReached",
    "MondayError",
    "MondayInvalidInput",
    "MondayRateLimited",
    "MondayRequestError",
    "MondayUnavailable",
]


class MondayError(ConnectorError):
    """Root of every error raised by `monday_client`."""

    refused = True
    """monday certainly did nothing with the request (safe to send again without a look)."""

    def __init__(
        self, message: str, *, code: str | None = None, error_data: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error_data: dict[str, Any] = dict(error_data or {})
        self.path: tuple[str | int, ...] = ()
        """Where in the document monday put the error (``("u3",)`` for a batch's 4th update)."""


class MondayUnavailable(MondayError, SystemUnavailable):
    """monday (or the network to it) failed: a 5xx, a timeout, a connection refused."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        refused: bool = False,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.refused = refused


class MondayRateLimited(MondayError, SystemUnavailable):
    """A limit still refused the call after the client's own bounded waits."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class MondayDailyLimitReached(MondayError, SystemUnavailable):
    """The token's daily call limit is spent; nothing works for it until `resets_at`.

    The client never sleeps on this: the caller holds the token's work (and alerts)."""

    def __init__(self, message: str, *, resets_at: datetime, retry_after: float) -> None:
        super().__init__(message, code="DAILY_LIMIT_EXCEEDED")
        self.resets_at = resets_at
        self.retry_after = retry_after


class MondayCursorExpired(MondayError, RetryableError):
    """An items_page cursor expired (60 minutes): the listing must start again."""


class MondayAuthError(MondayError, CredentialRefused):
    """The token is wrong, revoked, or lacks access to what was asked."""


class MondayBoardNotFound(MondayError, PermanentError):
    """No board with this id, or none the token can see."""

    def __init__(self, message: str, *, board_id: str, code: str | None = None) -> None:
        super().__init__(message, code=code, error_data={"board_id": board_id})
        self.board_id = board_id


class MondayInvalidInput(MondayError, PermanentError):
    """monday refused a value, column, group or item of this request.

    `column_id` is the column at fault when monday named one; `field` is the `error_data`
    key naming what is at fault (``column_id``, ``item_id``, ``group_id``, an argument such as
    ``limit``) and `field_value` its value."""

    def __init__(
        self, message: str, *, code: str, error_data: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, code=code, error_data=error_data)
        data = self.error_data
        column = data.get("column_id")
        self.column_id: str | None = None if column is None else str(column)
        self.field, self.field_value = _at_fault(data)
        self.item_id: str | None = None if data.get("item_id") is None else str(data["item_id"])
        """The item whose update was refused, when known (a batch names it from `path`)."""


class MondayRequestError(MondayError, PermanentError):
    """monday refused this request for a reason no repeat can fix."""


_FIELD_KEYS = ("column_id", "item_id", "group_id", "board_id", "column_name", "argument")


def _at_fault(data: dict[str, Any]) -> tuple[str | None, str | None]:
    named = [key for key in _FIELD_KEYS if data.get(key) is not None]
    named += [key for key in data if key not in _FIELD_KEYS and key != "value"]
    if not named:
        return None, None
    return named[0], str(data[named[0]])
