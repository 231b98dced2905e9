"""A typed async client for monday.com's GraphQL API: board schema, items, and their values.

Each method sends one of the constant documents of `monday_client.documents` with variables
and reads the answer with `monday_client.answers`. Limits are handled here, where the client
knows a refused call did nothing: the token's complexity budget makes a call wait before it
is sent when it would not fit; a ``COMPLEXITY_BUDGET_EXHAUSTED`` waits ``retry_in_seconds``,
a 429 waits ``Retry-After``, ``maxConcurrencyExceeded`` backs off (exponential, jittered),
each within `LimitPolicy.max_attempts`, then `MondayRateLimited`. The daily limit is never
slept on: `MondayDailyLimitReached` says when it resets and the caller holds its work.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from monday_client import documents
from monday_client.answers import BUDGET, CONCURRENCY, Answer, Refusal, read_answer
from monday_client.budget import Clock, ComplexityBudget, Hold, Sleep
from monday_client.errors import (
    MondayBoardNotFound,
    MondayInvalidInput,
    MondayRateLimited,
    MondayRequestError,
)
from monday_client.models import Board, DailyCalls, Item, ItemsPage, Me
from monday_client.transport import DEFAULT_API_VERSION, GraphQLTransport

__all__ = ["DEFAULT_LIMITS", "MAX_QUERY_COMPLEXITY", "LimitPolicy", "MondayClient"]

logger = logging.getLogger(__name__)

MAX_QUERY_COMPLEXITY = 5_000_000
"""monday refuses any single query costing more (``maxComplexityExceeded``)."""
PAGE_SIZE = 100
"""Items per page (monday allows up to 500; a smaller page keeps each call cheap)."""
_LAST_UPDATED = "__last_updated__"


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """How long and how often a call refused by a limit is tried again."""

    max_attempts: int = 6
    max_wait_seconds: float = 120.0
    """A wait longer than this is not slept here: `MondayRateLimited` carries it instead."""
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


DEFAULT_LIMITS = LimitPolicy()


class MondayClient:
    """One monday token's calls (``POST {base_url}/v2``), with its complexity budget."""

    def __init__(
        self,
        token: SecretStr,
        *,
        base_url: str,
        api_version: str = DEFAULT_API_VERSION,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        budget: ComplexityBudget | None = None,
        limits: LimitPolicy = DEFAULT_LIMITS,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._transport = GraphQLTransport(
            token, base_url=base_url, api_version=api_version, transport=transport, timeout=timeout
        )
        self.budget = budget or ComplexityBudget(clock=clock, sleep=sleep)
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"MondayClient({self._transport!r})"

    async def __aenter__(self) -> MondayClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def me(self) -> Me:
        data = await self._call("Me", documents.ME, {})
        if not isinstance(data.get("me"), dict):
            raise MondayRequestError("monday answered no user for this token")
        return Me.model_validate(data["me"])

    async def daily_calls(self) -> DailyCalls:
        """The account's daily call limit and today's calls (`platform_api`)."""
        data = await self._call("PlatformApi", documents.PLATFORM_API, {})
        raw = data.get("platform_api")
        if not isinstance(raw, dict):
            raise MondayRequestError("monday answered no platform_api for this token")
        return DailyCalls.from_answer(raw)

    async def board(self, board_id: str) -> Board:
        """The board's columns (in board order) and groups; `MondayBoardNotFound` if none."""
        data = await self._call("Board", documents.BOARD, {"board": board_id})
        boards = [b for b in data.get("boards") or () if isinstance(b, dict)]
        if not boards:
            raise MondayBoardNotFound(f"monday has no board {board_id}", board_id=board_id)
        return Board.model_validate(boards[0])

    async def create_item(
        self,
        board_id: str,
        *,
        item_name: str,
        group_id: str | None = None,
        column_values: Mapping[str, object],
        create_labels_if_missing: bool = False,
    ) -> str:
        """Creates one item; returns its id."""
        variables = {
            "board": board_id,
            "name": item_name,
            "group": group_id,
            "values": _json(column_values),
            "labels": create_labels_if_missing,
        }
        data = await self._call("CreateItem", documents.CREATE_ITEM, variables)
        created = data.get("create_item")
        if not isinstance(created, dict) or created.get("id") is None:
            raise MondayRequestError(f"monday created no item on board {board_id}")
        return str(created["id"])

    async def change_column_values(
        self,
        board_id: str,
        item_id: str,
        column_values: Mapping[str, object],
        *,
        create_labels_if_missing: bool = False,
    ) -> None:
        """Writes several columns of one item (``change_multiple_column_values``)."""
        variables = {
            "board": board_id,
            "item": item_id,
            "values": _json(column_values),
            "labels": create_labels_if_missing,
        }
        await self._call("ChangeColumnValues", documents.CHANGE_COLUMN_VALUES, variables)

    async def change_many(
        self,
        board_id: str,
        updates: Sequence[tuple[str, Mapping[str, object]]],
        *,
        create_labels_if_missing: bool = False,
    ) -> None:
        """Writes several items of one board: (item id, column values) pairs, as many per
        request (aliases, run in order by monday) as the complexity budget allows.

        A refused update raises `MondayInvalidInput` naming its `item_id`; the other updates
        of its request were applied (monday runs each alias on its own), later requests
        were not sent. Repeating the same updates is harmless: they set the same values."""
        start = 0
        while start < len(updates):
            size = self._batch_size(len(updates) - start)
            chunk = updates[start : start + size]
            variables: dict[str, Any] = {"board": board_id, "labels": create_labels_if_missing}
            for index, (item_id, values) in enumerate(chunk):
                variables[f"item{index}"] = item_id
                variables[f"values{index}"] = _json(values)
            document = documents.change_many_document(size)
            try:
                await self._call("ChangeColumnValues", document, variables, units=size)
            except MondayInvalidInput as exc:
                exc.item_id = _batch_item(exc.path, chunk) or exc.item_id
                raise
            start += size

    async def find_items(self, board_id: str, *, column_id: str, value: str) -> list[Item]:
        """Every item whose `column_id` reads `value` (``items_page_by_column_values``)."""
        variables: dict[str, Any] = {
            "board": board_id,
            "column": column_id,
            "values": [value],
            "limit": PAGE_SIZE,
        }
        data = await self._call("FindItems", documents.FIND_ITEMS, variables)
        page = _page(data["items_page_by_column_values"], board_id)
        found = list(page.items)
        while page.cursor is not None:
            variables = {"board": board_id, "cursor": page.cursor, "limit": PAGE_SIZE}
            data = await self._call("FindItemsNext", documents.FIND_ITEMS_NEXT, variables)
            page = _page(data["items_page_by_column_values"], board_id)
            found.extend(page.items)
        return found

    async def items(
        self, board_id: str, *, updated_since: datetime | None = None
    ) -> AsyncIterator[Item]:
        """The board's items in id order, page by page (``items_page``, then
        ``next_items_page``); with `updated_since`, only those updated at or after it."""
        variables: dict[str, Any] = {"board": board_id, "limit": PAGE_SIZE, "query": None}
        if updated_since is not None:
            variables["query"] = {"rules": [_updated_since_rule(updated_since)]}
        data = await self._call("ItemsPage", documents.ITEMS_PAGE, variables)
        boards = [b for b in data.get("boards") or () if isinstance(b, dict)]
        if not boards:
            raise MondayBoardNotFound(f"monday has no board {board_id}", board_id=board_id)
        page = _page(boards[0]["items_page"], board_id)
        while True:
            for item in page.items:
                if _updated_since(item, updated_since):
                    yield item
            if page.cursor is None:
                return
            variables = {"cursor": page.cursor, "limit": PAGE_SIZE}
            data = await self._call("NextItemsPage", documents.NEXT_ITEMS_PAGE, variables)
            page = _page(data["next_items_page"], board_id)

    def _batch_size(self, remaining: int) -> int:
        """Updates per request: what one window (and one query) can hold, at most MAX_BATCH."""
        if not self.budget.knows("ChangeColumnValues"):
            return 1  # learn what one update costs before batching
        per_update = self.budget.estimate("ChangeColumnValues")
        size = min(remaining, documents.MAX_BATCH)
        ceiling = min(self.budget.limit or MAX_QUERY_COMPLEXITY, MAX_QUERY_COMPLEXITY)
        return max(1, min(size, ceiling // per_update))

    async def _call(
        self, kind: str, document: str, variables: dict[str, Any], *, units: int = 1
    ) -> dict[str, Any]:
        """Sends `document` until it is answered or a limit outlasts the policy."""
        refusal: Refusal | None = None
        wait: float | None = None
        for attempt in range(1, self._limits.max_attempts + 1):
            hold = await self.budget.reserve(kind, units=units)
            try:
                outcome = read_answer(
                    await self._transport.post(document, variables), now=self._clock()
                )
            except BaseException:
                self.budget.settle(hold, None)
                raise
            if isinstance(outcome, Answer):
                self.budget.settle(hold, outcome.complexity)
                return outcome.data
            refusal = outcome
            wait = self._wait_for(refusal, attempt=attempt, hold=hold)
            if wait > self._limits.max_wait_seconds or attempt == self._limits.max_attempts:
                break
            logger.info(
                "monday limit, waiting",
                extra={"code": refusal.code, "attempt": attempt, "wait_seconds": round(wait, 3)},
            )
            if refusal.code != BUDGET:
                await self._sleep(wait)  # a budget refusal waits in the next reserve()
        assert refusal is not None
        raise MondayRateLimited(
            f"monday still refuses {kind} ({refusal.code}) after {attempt} attempt(s)",
            code=refusal.code,
            retry_after=wait,
        )

    def _wait_for(self, refusal: Refusal, *, attempt: int, hold: Hold) -> float:
        if refusal.code == BUDGET:
            wait = refusal.wait if refusal.wait is not None else self._backoff(attempt)
            self.budget.exhausted(hold, retry_in_seconds=wait)
            return wait
        self.budget.settle(hold, None)
        if refusal.code == CONCURRENCY or refusal.wait is None:
            return self._backoff(attempt)
        return refusal.wait

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped."""
        ceiling = min(
            self._limits.backoff_cap_seconds,
            self._limits.backoff_base_seconds * 2 ** (attempt - 1),
        )
        return self._rng.uniform(0.0, ceiling)


def _json(column_values: Mapping[str, object]) -> str:
    # monday's JSON arguments take a JSON-encoded string as the variable's value.
    return json.dumps(dict(column_values), separators=(",", ":"), ensure_ascii=False)


def _batch_item(
    path: tuple[str | int, ...], chunk: Sequence[tuple[str, Mapping[str, object]]]
) -> str | None:
    """The item id of the update at alias ``u<i>`` where monday put the error."""
    alias = path[0] if path else None
    if isinstance(alias, str) and alias.startswith("u") and alias[1:].isdigit():
        index = int(alias[1:])
        if index < len(chunk):
            return chunk[index][0]
    return None


def _page(raw: Mapping[str, Any], board_id: str) -> ItemsPage:
    items = tuple(Item.from_answer(i, board_id=board_id) for i in raw.get("items") or ())
    cursor = raw.get("cursor")
    return ItemsPage(items=items, cursor=None if cursor is None else str(cursor))


def _updated_since_rule(since: datetime) -> dict[str, Any]:
    # monday filters on the item's last update with the __last_updated__ pseudo-column.
    return {
        "column_id": _LAST_UPDATED,
        "compare_attribute": "UPDATED_AT",
        "compare_value": ["EXACT", since.astimezone(UTC).isoformat()],
        "operator": "greater_than_or_equals",
    }


def _updated_since(item: Item, since: datetime | None) -> bool:
    """monday may filter at a coarser grain than a timestamp: the client checks again."""
    if since is None or item.updated_at is None:
        return True
    stamp = item.updated_at if item.updated_at.tzinfo else item.updated_at.replace(tzinfo=UTC)
    return stamp >= since
