"""The sandbox's GraphQL schema: a faithful subset of monday.com's public API schema.

Every type, field and argument here has monday's name, type and nullability, so a document
the sandbox validates is one monday would accept too. Only what the connector needs is
served; asking for anything else fails validation like a typo would. graphql-core, the
reference implementation of the GraphQL specification, parses, validates and executes.
"""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_schema

# The column types the sandbox stores, each with monday's ColumnValue implementation.
VALUE_TYPES: dict[str, str] = {
    "text": "TextValue",
    "numbers": "NumbersValue",
    "date": "DateValue",
    "status": "StatusValue",
    "link": "LinkValue",
    "dropdown": "DropdownValue",
    "long_text": "LongTextValue",
    "email": "EmailValue",
    "phone": "PhoneValue",
}

_VALUE_FIELDS = """
  column: Column!
  id: ID!
  text: String
  type: ColumnType!
  value: JSON
"""

_VALUE_IMPLEMENTATIONS = "\n".join(
    f"type {name} implements ColumnValue {{{_VALUE_FIELDS}}}" for name in VALUE_TYPES.values()
)

SDL = (
    """
scalar JSON
scalar Date
scalar ISO8601DateTime
scalar CompareValue

enum BoardKind { private public share }
enum State { active all archived deleted }
enum BoardsOrderBy { created_at used_at }
enum PositionRelative { after_at before_at }
enum ItemsQueryOperator { and or }
enum ItemsOrderByDirection { asc desc }
enum ItemsQueryRuleOperator {
  any_of between contains_terms contains_text ends_with greater_than greater_than_or_equals
  is_empty is_not_empty lower_than lower_than_or_equal not_any_of not_contains_text
  starts_with within_the_last within_the_next
}
enum ColumnType {
  auto_number board_relation button checkbox color_picker country creation_log date
  dependency direct_doc doc dropdown email file formula group hour integration
  item_assignees item_id last_updated link location long_text mirror name numbers people
  person phone progress rating status subtasks tags team text time_tracking timeline
  unsupported vote week world_clock
}
enum WebhookEventType {
  change_column_value change_name change_specific_column_value change_status_column_value
  change_subitem_column_value change_subitem_name create_column create_item create_subitem
  create_subitem_update create_update delete_update edit_update item_archived item_deleted
  item_moved_to_any_group item_moved_to_specific_group item_restored move_subitem
  subitem_archived subitem_deleted
}

type Account {
  id: ID!
  name: String!
  slug: String!
}

type User {
  account: Account!
  email: String!
  id: ID!
  name: String!
}

type Complexity {
  after: Int!
  before: Int!
  query: Int!
  reset_in_x_seconds: Int!
}

type DailyLimit {
  base: Int
  total: Int
}

type PlatformApiDailyAnalyticsByDay {
  day: String!
  usage: Int!
}

type DailyAnalytics {
  last_updated: ISO8601DateTime
  by_day: [PlatformApiDailyAnalyticsByDay!]!
}

type PlatformApi {
  daily_limit: DailyLimit
  daily_analytics: DailyAnalytics
}

type Column {
  archived: Boolean!
  description: String
  id: ID!
  settings_str: String!
  title: String!
  type: ColumnType!
}

type Group {
  id: ID!
  position: String!
  title: String!
}

interface ColumnValue {"""
    + _VALUE_FIELDS
    + """}
"""
    + _VALUE_IMPLEMENTATIONS
    + """

type Item {
  board: Board
  column_values(ids: [String!], types: [ColumnType!]): [ColumnValue!]!
  created_at: Date
  group: Group
  id: ID!
  name: String!
  state: State
  updated_at: Date
}

type ItemsResponse {
  cursor: String
  items: [Item!]!
}

input ItemsQueryRule {
  column_id: ID!
  compare_attribute: String
  compare_value: CompareValue!
  operator: ItemsQueryRuleOperator = any_of
}

input ItemsQueryGroup {
  groups: [ItemsQueryGroup!]
  operator: ItemsQueryOperator = and
  rules: [ItemsQueryRule!]
}

input ItemsQueryOrderBy {
  column_id: String!
  direction: ItemsOrderByDirection = asc
}

input ItemsQuery {
  groups: [ItemsQueryGroup!]
  ids: [ID!]
  operator: ItemsQueryOperator = and
  order_by: [ItemsQueryOrderBy!]
  rules: [ItemsQueryRule!]
}

input ItemsPageByColumnValuesQuery {
  column_id: String!
  column_values: [String]!
}

type Board {
  board_kind: BoardKind!
  columns(ids: [String], types: [ColumnType!]): [Column]
  groups(ids: [String]): [Group]
  id: ID!
  items_page(cursor: String, limit: Int! = 25, query_params: ItemsQuery): ItemsResponse!
  name: String!
  state: State!
}

type Webhook {
  board_id: ID!
  config: String
  event: WebhookEventType!
  id: ID!
}

type Query {
  account: Account
  boards(
    board_kind: BoardKind
    ids: [ID!]
    latest: Boolean
    limit: Int = 25
    order_by: BoardsOrderBy
    page: Int = 1
    state: State = active
    workspace_ids: [ID]
  ): [Board]
  complexity: Complexity
  items(
    exclude_nonactive: Boolean
    ids: [ID!]
    limit: Int = 25
    newest_first: Boolean
    page: Int = 1
  ): [Item]
  items_page_by_column_values(
    board_id: ID!
    columns: [ItemsPageByColumnValuesQuery!]
    cursor: String
    limit: Int! = 25
  ): ItemsResponse!
  me: User
  next_items_page(cursor: String!, limit: Int! = 25): ItemsResponse!
  platform_api: PlatformApi
}

type Mutation {
  change_multiple_column_values(
    board_id: ID!
    column_values: JSON!
    create_labels_if_missing: Boolean
    item_id: ID
  ): Item
  complexity: Complexity
  change_simple_column_value(
    board_id: ID!
    column_id: String!
    create_labels_if_missing: Boolean
    item_id: ID
    value: String
  ): Item
  create_item(
    board_id: ID!
    column_values: JSON
    create_labels_if_missing: Boolean
    group_id: String
    item_name: String!
    position_relative_method: PositionRelative
    relative_to: ID
  ): Item
  create_webhook(board_id: ID!, config: JSON, event: WebhookEventType!, url: String!): Webhook
}
"""
)


@cache
def sandbox_schema() -> GraphQLSchema:
    """The schema, built once (graphql-core schemas are immutable once built)."""
    return build_schema(SDL)
