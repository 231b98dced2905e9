"""What a GraphQL document costs in complexity points, counted before it runs.

monday does not publish its formula; the sandbox's is a stand-in with the same shape: each
field a point, a paged field (``limit``) multiplies what it selects, every mutation costs
``mutation_cost`` more (monday: about 10,000 for ``create_item``).
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)

DEFAULT_PAGE = 25
# Fields of the Mutation type that read rather than write: they cost no mutation.
_NOT_MUTATIONS = frozenset({"complexity"})


def _limit(field: FieldNode, variables: Mapping[str, object]) -> int:
    for argument in field.arguments or ():
        if argument.name.value != "limit":
            continue
        node = argument.value
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            value = variables.get(node.name.value)
            return int(value) if isinstance(value, int) else DEFAULT_PAGE
    return 1


def _selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, object],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = _selection_cost(selection.selection_set, fragments, variables)
            total += 1 + _limit(selection, variables) * inner
        elif isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                total += _selection_cost(fragment.selection_set, fragments, variables)
    return total


def operation_cost(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, object],
    *,
    mutation_cost: int,
) -> int:
    cost = _selection_cost(operation.selection_set, fragments, variables)
    if operation.operation == OperationType.MUTATION:
        mutations = sum(
            1
            for s in operation.selection_set.selections
            if isinstance(s, FieldNode) and s.name.value not in _NOT_MUTATIONS
        )
        cost += mutations * mutation_cost
    return cost
