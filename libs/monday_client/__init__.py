"""Typed async client for monday.com's GraphQL API (``POST https://api.monday.com/v2``).

Board schema, item creation and updates (one or several per request), lookup by a column's
value, and paging with cursors; every call feeds the token's complexity budget, and every
failure is a `MondayError` that says whether a retry can help (see `monday_client.errors`).
"""

from monday_client.budget import ComplexityBudget
from monday_client.client import DEFAULT_LIMITS, MAX_QUERY_COMPLEXITY, LimitPolicy, MondayClient
from monday_client.documents import DOCUMENTS, MAX_BATCH
from monday_client.errors import (
    MondayAuthError,
    MondayBoardNotFound,
    MondayCursorExpired,
    MondayDailyLimitReached,
    MondayError,
    MondayInvalidInput,
    MondayRateLimited,
    MondayRequestError,
    MondayUnavailable,
)
from monday_client.models import (
    Account,
    Board,
    Column,
    ColumnValue,
    Complexity,
    Group,
    Item,
    ItemsPage,
    Me,
)
from monday_client.transport import DEFAULT_API_VERSION, DEFAULT_BASE_URL

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DOCUMENTS",
    "MAX_BATCH",
    "MAX_QUERY_COMPLEXITY",
    "Account",
    "Board",
    "Column",
    "ColumnValue",
    "Complexity",
    "ComplexityBudget",
    "Group",
    "Item",
    "ItemsPage",
    "LimitPolicy",
    "Me",
    "MondayAuthError",
    "MondayBoardNotFound",
    "MondayClient",
    "MondayCursorExpired",
    "MondayDailyLimitReached",
    "MondayError",
    "MondayInvalidInput",
    "MondayRateLimited",
    "MondayRequestError",
    "MondayUnavailable",
]
