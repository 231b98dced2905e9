"""Every GraphQL document the client sends, as module constants with variables.

Values only ever travel in ``variables``; no document is built from data. The one request
whose shape varies, several ``change_multiple_column_values`` in one call, is a constant per
batch size, built at import from the single-update document by copying its parsed field
under an alias with renamed variables (graphql-core's AST, then printed), so it is as fixed
as the others. `DOCUMENTS` lists them all: a test validates each against the schema.

Every document also selects ``complexity { before after reset_in_x_seconds query }``, which
feeds the token's budget (`monday_client.budget`).
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from graphql import (
    FieldNode,
    NameNode,
    OperationDefinitionNode,
    VariableDefinitionNode,
    VariableNode,
    parse,
    print_ast,
)

__all__ = [
    "BOARD",
    "CHANGE_COLUMN_VALUES",
    "CREATE_ITEM",
    "DOCUMENTS",
    "FIND_ITEMS",
    "FIND_ITEMS_NEXT",
    "ITEMS_PAGE",
    "MAX_BATCH",
    "ME",
    "NEXT_ITEMS_PAGE",
    "PLATFORM_API",
    "change_many_document",
]

MAX_BATCH = 25
"""Most updates sent in one request (each alias is one mutation, run in order by monday)."""

_COMPLEXITY = "complexity { before after query reset_in_x_seconds }"

_ITEM_FIELDS = """
    id
    name
    updated_at
    board { id }
    group { id }
    column_values { id type text value }
"""

BOARD = f"""
query Board($board: ID!) {{
  {_COMPLEXITY}
  boards(ids: [$board]) {{
    id
    name
    columns {{ id title type settings_str }}
    groups {{ id title }}
  }}
}}
"""

CREATE_ITEM = f"""
mutation CreateItem(
  $board: ID!, $name: String!, $group: String, $values: JSON, $labels: Boolean
) {{
  {_COMPLEXITY}
  create_item(
    board_id: $board, item_name: $name, group_id: $group, column_values: $values,
    create_labels_if_missing: $labels
  ) {{ id }}
}}
"""

CHANGE_COLUMN_VALUES = f"""
mutation ChangeColumnValues($board: ID!, $item: ID, $values: JSON!, $labels: Boolean) {{
  {_COMPLEXITY}
  change_multiple_column_values(
    board_id: $board, item_id: $item, column_values: $values, create_labels_if_missing: $labels
  ) {{ id }}
}}
"""

FIND_ITEMS = f"""
query FindItems($board: ID!, $column: String!, $values: [String]!, $limit: Int!) {{
  {_COMPLEXITY}
  items_page_by_column_values(
    board_id: $board, columns: [{{column_id: $column, column_values: $values}}], limit: $limit
  ) {{
    cursor
    items {{ {_ITEM_FIELDS} }}
  }}
}}
"""

FIND_ITEMS_NEXT = f"""
query FindItemsNext($board: ID!, $cursor: String!, $limit: Int!) {{
  {_COMPLEXITY}
  items_page_by_column_values(board_id: $board, cursor: $cursor, limit: $limit) {{
    cursor
    items {{ {_ITEM_FIELDS} }}
  }}
}}
"""

ITEMS_PAGE = f"""
query ItemsPage($board: ID!, $limit: Int!, $query: ItemsQuery) {{
  {_COMPLEXITY}
  boards(ids: [$board]) {{
    items_page(limit: $limit, query_params: $query) {{
      cursor
      items {{ {_ITEM_FIELDS} }}
    }}
  }}
}}
"""

NEXT_ITEMS_PAGE = f"""
query NextItemsPage($cursor: String!, $limit: Int!) {{
  {_COMPLEXITY}
  next_items_page(cursor: $cursor, limit: $limit) {{
    cursor
    items {{ {_ITEM_FIELDS} }}
  }}
}}
"""

ME = f"""
query Me {{
  {_COMPLEXITY}
  me {{ id name email account {{ id name slug }} }}
}}
"""

PLATFORM_API = f"""
query PlatformApi {{
  {_COMPLEXITY}
  platform_api {{ daily_limit {{ total }} daily_analytics {{ by_day {{ day usage }} }} }}
}}
"""

# The batch documents share $board and $labels; each alias u<i> has its own $item<i> and
# $values<i>.
_SHARED_VARIABLES = frozenset({"board", "labels"})


def _renamed(node: VariableNode, index: int) -> VariableNode:
    name = node.name.value
    if name in _SHARED_VARIABLES:
        return node
    return VariableNode(name=NameNode(value=f"{name}{index}"))


def _aliased_update(template: FieldNode, index: int) -> FieldNode:
    arguments = tuple(
        replace(argument, value=_renamed(argument.value, index))
        if isinstance(argument.value, VariableNode)
        else argument
        for argument in template.arguments or ()
    )
    return replace(template, alias=NameNode(value=f"u{index}"), arguments=arguments)


def _batch(size: int) -> str:
    operation = parse(CHANGE_COLUMN_VALUES, no_location=True).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    complexity, update = operation.selection_set.selections
    assert isinstance(update, FieldNode)
    definitions: list[VariableDefinitionNode] = []
    for definition in operation.variable_definitions or ():
        if definition.variable.name.value in _SHARED_VARIABLES:
            definitions.append(definition)
            continue
        definitions.extend(
            replace(definition, variable=_renamed(definition.variable, index))
            for index in range(size)
        )
    selections = (complexity, *(_aliased_update(update, index) for index in range(size)))
    batch = replace(
        operation,
        name=NameNode(value=f"ChangeMany{size}"),
        variable_definitions=tuple(definitions),
        selection_set=replace(operation.selection_set, selections=selections),
    )
    return print_ast(batch)


_CHANGE_MANY: tuple[str, ...] = tuple(_batch(size) for size in range(1, MAX_BATCH + 1))


def change_many_document(size: int) -> str:
    """The document updating `size` items in one request (aliases ``u0`` … ``u<size-1>``)."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} updates, not {size}")
    return _CHANGE_MANY[size - 1]


DOCUMENTS: MappingProxyType[str, str] = MappingProxyType(
    {
        "Board": BOARD,
        "CreateItem": CREATE_ITEM,
        "ChangeColumnValues": CHANGE_COLUMN_VALUES,
        "FindItems": FIND_ITEMS,
        "FindItemsNext": FIND_ITEMS_NEXT,
        "ItemsPage": ITEMS_PAGE,
        "NextItemsPage": NEXT_ITEMS_PAGE,
        "Me": ME,
        "PlatformApi": PLATFORM_API,
        **{f"ChangeMany{size}": document for size, document in enumerate(_CHANGE_MANY, 1)},
    }
)
"""Every document the client can send, by operation name."""
