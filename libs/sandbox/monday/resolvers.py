"""Resolvers: monday's queries and mutations over the simulated account.

Objects are plain dicts that graphql-core's default resolver reads; a field with arguments
is a callable. ``__typename`` picks a ColumnValue's concrete type, as monday's do.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

from graphql import GraphQLResolveInfo

from sandbox.monday.columns import Column, render_text, render_value
from sandbox.monday.errors import MondayApplicationError
from sandbox.monday.limits import DAY
from sandbox.monday.schema import VALUE_TYPES
from sandbox.monday.state import Board, Item, MondayState
from sandbox.monday.webhooks import COLUMN_EVENTS

Info: TypeAlias = "GraphQLResolveInfo[Any]"


@dataclass
class RequestContext:
    state: MondayState
    token: str
    cost: int
    budget_before: int


def _column(column: Column) -> dict[str, Any]:
    return {
        "id": column.id,
        "title": column.title,
        "type": column.type,
        "settings_str": column.settings_str(),
        "archived": False,
        "description": None,
    }


def _group(board: Board, group_id: str) -> dict[str, Any]:
    title = dict(board.groups).get(group_id, group_id)
    position = str(65536 * ([g for g, _ in board.groups].index(group_id) + 1))
    return {"id": group_id, "title": title, "position": position}


def _item(state: MondayState, item: Item) -> dict[str, Any]:
    board = state.board(item.board_id)

    def column_values(
        _: Info, ids: list[str] | None = None, types: list[str] | None = None
    ) -> list[dict[str, Any]]:
        return [
            {
                "__typename": VALUE_TYPES[c.type],
                "id": c.id,
                "type": c.type,
                "column": _column(c),
                "value": render_value(item.values.get(c.id)),
                "text": render_text(c, item.values.get(c.id)),
            }
            for c in board.columns
            if (ids is None or c.id in ids) and (types is None or c.type in types)
        ]

    return {
        "id": item.id,
        "name": item.name,
        "state": "active",
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
        "group": _group(board, item.group_id),
        "board": lambda _info: _board(state, board),
        "column_values": column_values,
    }


def _rule_matches(board: Board, item: Item, rule: dict[str, Any]) -> bool:
    compare = rule["compare_value"]
    wanted = [str(v) for v in (compare if isinstance(compare, list) else [compare])]
    operator = rule.get("operator", "any_of")
    if rule["column_id"] == "__last_updated__" and operator in (
        "greater_than",
        "greater_than_or_equals",
    ):
        since = wanted[-1]
        stamp = item.updated_at.isoformat()
        return stamp > since if operator == "greater_than" else stamp >= since
    column = board.column(str(rule["column_id"]))
    text = render_text(column, item.values.get(column.id))
    if operator == "any_of":
        return text in wanted
    if operator == "not_any_of":
        return text not in wanted
    raise MondayApplicationError(
        f"The sandbox does not serve the rule operator {operator}",
        code="InvalidArgumentException",
        operator=operator,
    )


def _matches(board: Board, item: Item, query: dict[str, Any]) -> bool:
    if query.get("ids") and item.id not in [str(i) for i in query["ids"]]:
        return False
    results = [_rule_matches(board, item, rule) for rule in query.get("rules") or []]
    if not results:
        return True
    return any(results) if query.get("operator") == "or" else all(results)


def _page(
    state: MondayState, board: Board, query: dict[str, Any], limit: int, after: str = "0"
) -> dict[str, Any]:
    if not 1 <= limit <= 500:
        raise MondayApplicationError(
            "limit must be between 1 and 500", code="InvalidArgumentException", limit=limit
        )
    matching = [
        item
        for item_id, item in sorted(board.items.items(), key=lambda kv: int(kv[0]))
        if int(item_id) > int(after) and _matches(board, item, query)
    ]
    page = matching[:limit]
    more = len(matching) > limit
    cursor = state.encode_cursor(board.id, page[-1].id, query) if more else None
    return {"cursor": cursor, "items": [_item(state, i) for i in page]}


def _board(state: MondayState, board: Board) -> dict[str, Any]:
    def items_page(
        _info: Info,
        limit: int = 25,
        cursor: str | None = None,
        query_params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if cursor is not None:
            _, after, query = state.decode_cursor(cursor)
            return _page(state, board, query, limit, after)
        return _page(state, board, query_params or {}, limit)

    return {
        "id": board.id,
        "name": board.name,
        "state": "active",
        "board_kind": "public",
        "columns": lambda _i, ids=None, types=None: [
            _column(c)
            for c in board.columns
            if (ids is None or c.id in ids) and (types is None or c.type in types)
        ],
        "groups": lambda _i, ids=None: [
            _group(board, g) for g, _ in board.groups if ids is None or g in ids
        ],
        "items_page": items_page,
    }


def _real_seconds(state: MondayState, seconds: float) -> int:
    """Sandbox seconds as the real seconds a client waits, like ``retry_in_seconds``: a
    client that waits for the reset comes back when the window is over at any clock speed."""
    speed = state.clock.speed
    return math.ceil(seconds / speed if speed > 0 else seconds)


def _context(info: Info) -> RequestContext:
    context = info.context
    assert isinstance(context, RequestContext)
    return context


def _values(raw: object) -> dict[str, object]:
    """``column_values`` is JSON: monday takes an object or a string holding one."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict):
        raise MondayApplicationError(
            "column_values must be a JSON object", code="InvalidArgumentException"
        )
    return raw


class Query:
    @staticmethod
    def boards(info: Info, ids: list[str] | None = None, **_: Any) -> list[Any]:
        state = _context(info).state
        boards = list(state.boards.values())
        if ids is not None:
            boards = [b for b in boards if b.id in [str(i) for i in ids]]
        return [_board(state, b) for b in boards]

    @staticmethod
    def items(info: Info, ids: list[str] | None = None, **_: Any) -> list[Any]:
        state = _context(info).state
        found = []
        for item_id in ids or []:
            try:
                found.append(_item(state, state.item(str(item_id))))
            except MondayApplicationError:
                continue
        return found

    @staticmethod
    def items_page_by_column_values(
        info: Info,
        board_id: str,
        limit: int = 25,
        columns: list[dict[str, Any]] | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        state = _context(info).state
        if cursor is not None:
            board_id, after, query = state.decode_cursor(cursor)
            return _page(state, state.board(board_id), query, limit, after)
        rules = [
            {"column_id": c["column_id"], "compare_value": c["column_values"]}
            for c in columns or []
        ]
        return _page(state, state.board(board_id), {"rules": rules}, limit)

    @staticmethod
    def next_items_page(info: Info, cursor: str, limit: int = 25) -> dict[str, Any]:
        state = _context(info).state
        board_id, after, query = state.decode_cursor(cursor)
        return _page(state, state.board(board_id), query, limit, after)

    @staticmethod
    def complexity(info: Info) -> dict[str, Any]:
        context = _context(info)
        return {
            "before": context.budget_before,
            "after": context.budget_before - context.cost,
            "query": context.cost,
            "reset_in_x_seconds": _real_seconds(
                context.state, context.state.limits.reset_in_seconds(context.token)
            ),
        }

    @staticmethod
    def me(info: Info) -> dict[str, Any]:
        return {
            "id": "1",
            "name": "API user",
            "email": "api@nordic-demo.example",
            "account": Query.account(info),
        }

    @staticmethod
    def platform_api(info: Info) -> dict[str, Any]:
        """The daily call limit and today's calls of the token (monday counts them per
        account; the sandbox's limits are per token, one token per demo account)."""
        context = _context(info)
        limits = context.state.limits
        usage = limits.usage(context.token)
        day = datetime.fromtimestamp(usage.day * DAY, UTC)
        return {
            "daily_limit": {"base": limits.daily_calls, "total": limits.daily_calls},
            "daily_analytics": {
                "last_updated": datetime.fromtimestamp(context.state.clock.time(), UTC).isoformat(),
                "by_day": [{"day": day.date().isoformat(), "usage": usage.daily_calls}],
            },
        }

    @staticmethod
    def account(info: Info) -> dict[str, Any]:
        config = _context(info).state.config
        return {"id": str(config.account_id), "name": config.account_name, "slug": "nordic-demo"}


async def _mutate_item(
    info: Info,
    board_id: str,
    item_id: str | None,
    values: dict[str, object],
    *,
    create_labels: bool,
) -> dict[str, Any]:
    state = _context(info).state
    board = state.board(board_id)
    state.mutation_started(board.id)
    try:
        await _latency(state)
        if item_id is None or str(item_id) not in board.items:
            raise MondayApplicationError(
                "Item not found in board", code="InvalidItemIdException", item_id=item_id
            )
        item = board.items[str(item_id)]
        state.write_values(board, item, values, create_labels=create_labels)
        state.item_updates[board.id] = state.item_updates.get(board.id, 0) + 1
        return _item(state, item)
    finally:
        state.mutation_ended(board.id)


async def _latency(state: MondayState) -> None:
    seconds = state.config.mutation_latency_seconds
    if seconds > 0 and state.clock.speed > 0:
        # A simulated server's processing time, in sandbox seconds.
        await asyncio.sleep(seconds / state.clock.speed)


class Mutation:
    # monday's Mutation type serves ``complexity`` too, so a write reports what it cost.
    complexity = Query.complexity

    @staticmethod
    async def create_item(
        info: Info,
        board_id: str,
        item_name: str,
        group_id: str | None = None,
        column_values: object = None,
        create_labels_if_missing: bool | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        state = _context(info).state
        board = state.board(board_id)
        values = _values(column_values) if column_values is not None else {}
        state.mutation_started(board.id)
        try:
            await _latency(state)
            item = state.create_item(
                board.id,
                item_name,
                group_id=group_id,
                values=values,
                create_labels=bool(create_labels_if_missing),
            )
            return _item(state, item)
        finally:
            state.mutation_ended(board.id)

    @staticmethod
    async def change_multiple_column_values(
        info: Info,
        board_id: str,
        column_values: object,
        item_id: str | None = None,
        create_labels_if_missing: bool | None = None,
    ) -> dict[str, Any]:
        return await _mutate_item(
            info,
            board_id,
            item_id,
            _values(column_values),
            create_labels=bool(create_labels_if_missing),
        )

    @staticmethod
    async def change_simple_column_value(
        info: Info,
        board_id: str,
        column_id: str,
        item_id: str | None = None,
        value: str | None = None,
        create_labels_if_missing: bool | None = None,
    ) -> dict[str, Any]:
        return await _mutate_item(
            info,
            board_id,
            item_id,
            {column_id: value},
            create_labels=bool(create_labels_if_missing),
        )

    @staticmethod
    async def create_webhook(
        info: Info, board_id: str, url: str, event: str, config: object = None
    ) -> dict[str, Any]:
        state = _context(info).state
        board = state.board(board_id)
        served = {"create_item", *COLUMN_EVENTS}
        if event not in served:
            raise MondayApplicationError(
                f"The sandbox does not send {event} events", code="InvalidArgumentException"
            )
        hook_config = _values(config) if config is not None else None
        hook = await state.webhooks.register(board.id, url, event, hook_config)
        return hook.as_dict()
