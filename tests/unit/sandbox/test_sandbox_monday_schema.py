"""The monday sandbox's schema is a faithful subset of monday.com's public GraphQL schema.

The expected signatures below were read from monday's public schema (API version 2025-07
and later, as published by monday) and written here by hand: for every type the sandbox
serves, each field's type and nullability and each argument's type must be monday's, and
every enum must carry monday's values. A field, argument or type monday lacks fails.
"""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    parse,
    validate,
)

from sandbox.monday.schema import VALUE_TYPES, sandbox_schema

BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
MONDAY_SCALARS = {"JSON", "Date", "CompareValue", "ISO8601DateTime"}

MONDAY_SIGNATURES: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "Account": {"id": ("ID!", {}), "name": ("String!", {}), "slug": ("String!", {})},
    "Board": {
        "board_kind": ("BoardKind!", {}),
        "columns": ("[Column]", {"ids": "[String]", "types": "[ColumnType!]"}),
        "groups": ("[Group]", {"ids": "[String]"}),
        "id": ("ID!", {}),
        "items_page": (
            "ItemsResponse!",
            {"cursor": "String", "limit": "Int!", "query_params": "ItemsQuery"},
        ),
        "name": ("String!", {}),
        "state": ("State!", {}),
    },
    "Column": {
        "archived": ("Boolean!", {}),
        "description": ("String", {}),
        "id": ("ID!", {}),
        "settings_str": ("String!", {}),
        "title": ("String!", {}),
        "type": ("ColumnType!", {}),
    },
    "ColumnValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "Complexity": {
        "after": ("Int!", {}),
        "before": ("Int!", {}),
        "query": ("Int!", {}),
        "reset_in_x_seconds": ("Int!", {}),
    },
    "DailyAnalytics": {
        "by_day": ("[PlatformApiDailyAnalyticsByDay!]!", {}),
        "last_updated": ("ISO8601DateTime", {}),
    },
    "DailyLimit": {"base": ("Int", {}), "total": ("Int", {})},
    "DateValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "DropdownValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "EmailValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "Group": {"id": ("ID!", {}), "position": ("String!", {}), "title": ("String!", {})},
    "Item": {
        "board": ("Board", {}),
        "column_values": ("[ColumnValue!]!", {"ids": "[String!]", "types": "[ColumnType!]"}),
        "created_at": ("Date", {}),
        "group": ("Group", {}),
        "id": ("ID!", {}),
        "name": ("String!", {}),
        "state": ("State", {}),
        "updated_at": ("Date", {}),
    },
    "ItemsPageByColumnValuesQuery": {
        "column_id": ("String!", {}),
        "column_values": ("[String]!", {}),
    },
    "ItemsQuery": {
        "groups": ("[ItemsQueryGroup!]", {}),
        "ids": ("[ID!]", {}),
        "operator": ("ItemsQueryOperator", {}),
        "order_by": ("[ItemsQueryOrderBy!]", {}),
        "rules": ("[ItemsQueryRule!]", {}),
    },
    "ItemsQueryGroup": {
        "groups": ("[ItemsQueryGroup!]", {}),
        "operator": ("ItemsQueryOperator", {}),
        "rules": ("[ItemsQueryRule!]", {}),
    },
    "ItemsQueryOrderBy": {"column_id": ("String!", {}), "direction": ("ItemsOrderByDirection", {})},
    "ItemsQueryRule": {
        "column_id": ("ID!", {}),
        "compare_attribute": ("String", {}),
        "compare_value": ("CompareValue!", {}),
        "operator": ("ItemsQueryRuleOperator", {}),
    },
    "ItemsResponse": {"cursor": ("String", {}), "items": ("[Item!]!", {})},
    "LinkValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "LongTextValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "Mutation": {
        "change_multiple_column_values": (
            "Item",
            {
                "board_id": "ID!",
                "column_values": "JSON!",
                "create_labels_if_missing": "Boolean",
                "item_id": "ID",
            },
        ),
        "change_simple_column_value": (
            "Item",
            {
                "board_id": "ID!",
                "column_id": "String!",
                "create_labels_if_missing": "Boolean",
                "item_id": "ID",
                "value": "String",
            },
        ),
        "create_item": (
            "Item",
            {
                "board_id": "ID!",
                "column_values": "JSON",
                "create_labels_if_missing": "Boolean",
                "group_id": "String",
                "item_name": "String!",
                "position_relative_method": "PositionRelative",
                "relative_to": "ID",
            },
        ),
        "complexity": ("Complexity", {}),
        "create_webhook": (
            "Webhook",
            {"board_id": "ID!", "config": "JSON", "event": "WebhookEventType!", "url": "String!"},
        ),
    },
    "NumbersValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "PhoneValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "PlatformApi": {
        "daily_analytics": ("DailyAnalytics", {}),
        "daily_limit": ("DailyLimit", {}),
    },
    "PlatformApiDailyAnalyticsByDay": {"day": ("String!", {}), "usage": ("Int!", {})},
    "Query": {
        "account": ("Account", {}),
        "boards": (
            "[Board]",
            {
                "board_kind": "BoardKind",
                "ids": "[ID!]",
                "latest": "Boolean",
                "limit": "Int",
                "order_by": "BoardsOrderBy",
                "page": "Int",
                "state": "State",
                "workspace_ids": "[ID]",
            },
        ),
        "complexity": ("Complexity", {}),
        "items": (
            "[Item]",
            {
                "exclude_nonactive": "Boolean",
                "ids": "[ID!]",
                "limit": "Int",
                "newest_first": "Boolean",
                "page": "Int",
            },
        ),
        "items_page_by_column_values": (
            "ItemsResponse!",
            {
                "board_id": "ID!",
                "columns": "[ItemsPageByColumnValuesQuery!]",
                "cursor": "String",
                "limit": "Int!",
            },
        ),
        "me": ("User", {}),
        "next_items_page": ("ItemsResponse!", {"cursor": "String!", "limit": "Int!"}),
        "platform_api": ("PlatformApi", {}),
    },
    "StatusValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "TextValue": {
        "column": ("Column!", {}),
        "id": ("ID!", {}),
        "text": ("String", {}),
        "type": ("ColumnType!", {}),
        "value": ("JSON", {}),
    },
    "User": {
        "account": ("Account!", {}),
        "email": ("String!", {}),
        "id": ("ID!", {}),
        "name": ("String!", {}),
    },
    "Webhook": {
        "board_id": ("ID!", {}),
        "config": ("String", {}),
        "event": ("WebhookEventType!", {}),
        "id": ("ID!", {}),
    },
}
MONDAY_ENUMS: dict[str, list[str]] = {
    "BoardKind": ["private", "public", "share"],
    "BoardsOrderBy": ["created_at", "used_at"],
    "ColumnType": [
        "auto_number",
        "board_relation",
        "button",
        "checkbox",
        "color_picker",
        "country",
        "creation_log",
        "date",
        "dependency",
        "direct_doc",
        "doc",
        "dropdown",
        "email",
        "file",
        "formula",
        "group",
        "hour",
        "integration",
        "item_assignees",
        "item_id",
        "last_updated",
        "link",
        "location",
        "long_text",
        "mirror",
        "name",
        "numbers",
        "people",
        "person",
        "phone",
        "progress",
        "rating",
        "status",
        "subtasks",
        "tags",
        "team",
        "text",
        "time_tracking",
        "timeline",
        "unsupported",
        "vote",
        "week",
        "world_clock",
    ],
    "ItemsOrderByDirection": ["asc", "desc"],
    "ItemsQueryOperator": ["and", "or"],
    "ItemsQueryRuleOperator": [
        "any_of",
        "between",
        "contains_terms",
        "contains_text",
        "ends_with",
        "greater_than",
        "greater_than_or_equals",
        "is_empty",
        "is_not_empty",
        "lower_than",
        "lower_than_or_equal",
        "not_any_of",
        "not_contains_text",
        "starts_with",
        "within_the_last",
        "within_the_next",
    ],
    "PositionRelative": ["after_at", "before_at"],
    "State": ["active", "all", "archived", "deleted"],
    "WebhookEventType": [
        "change_column_value",
        "change_name",
        "change_specific_column_value",
        "change_status_column_value",
        "change_subitem_column_value",
        "change_subitem_name",
        "create_column",
        "create_item",
        "create_subitem",
        "create_subitem_update",
        "create_update",
        "delete_update",
        "edit_update",
        "item_archived",
        "item_deleted",
        "item_moved_to_any_group",
        "item_moved_to_specific_group",
        "item_restored",
        "move_subitem",
        "subitem_archived",
        "subitem_deleted",
    ],
}


def _served_types() -> list[str]:
    return sorted(
        name
        for name in sandbox_schema().type_map
        if not name.startswith("__") and name not in BUILT_IN
    )


def test_every_served_type_is_one_of_mondays() -> None:
    known = set(MONDAY_SIGNATURES) | set(MONDAY_ENUMS) | MONDAY_SCALARS
    assert [name for name in _served_types() if name not in known] == []


@pytest.mark.parametrize("type_name", sorted(MONDAY_SIGNATURES))
def test_fields_and_arguments_match_mondays(type_name: str) -> None:
    served = sandbox_schema().type_map[type_name]
    assert isinstance(served, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType)
    expected = MONDAY_SIGNATURES[type_name]
    assert set(served.fields) == set(expected)
    for field_name, field in served.fields.items():
        monday_type, monday_args = expected[field_name]
        assert str(field.type) == monday_type, f"{type_name}.{field_name}"
        served_args = {name: str(arg.type) for name, arg in getattr(field, "args", {}).items()}
        assert served_args == monday_args, f"{type_name}.{field_name} arguments"


@pytest.mark.parametrize("enum_name", sorted(MONDAY_ENUMS))
def test_enums_carry_mondays_values(enum_name: str) -> None:
    served = sandbox_schema().type_map[enum_name]
    assert isinstance(served, GraphQLEnumType)
    assert sorted(served.values) == MONDAY_ENUMS[enum_name]


def test_scalars_are_mondays() -> None:
    for name in MONDAY_SCALARS:
        assert isinstance(sandbox_schema().type_map[name], GraphQLScalarType)


def test_each_served_column_type_has_mondays_value_type() -> None:
    column_values = sandbox_schema().type_map["ColumnValue"]
    assert isinstance(column_values, GraphQLInterfaceType)
    for column_type, value_type in VALUE_TYPES.items():
        assert column_type in MONDAY_ENUMS["ColumnType"]
        served = sandbox_schema().type_map[value_type]
        assert isinstance(served, GraphQLObjectType)
        assert [i.name for i in served.interfaces] == ["ColumnValue"]


def test_the_root_operations_are_the_ones_the_connector_uses() -> None:
    assert set(MONDAY_SIGNATURES["Query"]) == {
        "account",
        "boards",
        "complexity",
        "items",
        "items_page_by_column_values",
        "me",
        "next_items_page",
        "platform_api",
    }
    assert set(MONDAY_SIGNATURES["Mutation"]) == {
        "change_multiple_column_values",
        "change_simple_column_value",
        "complexity",
        "create_item",
        "create_webhook",
    }


def test_a_field_monday_lacks_fails_validation() -> None:
    errors = validate(sandbox_schema(), parse("query { boards(ids: [1]) { owner_xyz } }"))
    assert errors
    assert "owner_xyz" in errors[0].message
