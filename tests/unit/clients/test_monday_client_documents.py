"""Every GraphQL document the monday client can send validates against the sandbox's schema.

The sandbox's schema is itself checked to be a faithful subset of monday's public schema
(tests/unit/sandbox/test_sandbox_monday_schema.py), so a document valid here uses only
monday's own types, fields and arguments. The documents are collected from the client's
module, not listed by hand: a new constant that is not registered fails here too.
"""

from __future__ import annotations

import pytest
from graphql import (
    ArgumentNode,
    FieldNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    ValueNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)

from monday_client import DOCUMENTS, MAX_BATCH, documents
from sandbox.monday.schema import sandbox_schema


def _module_documents() -> dict[str, str]:
    """Every string constant of `monday_client.documents` that parses as a GraphQL document."""
    found = {}
    for name, value in vars(documents).items():
        if not name.isupper() or not isinstance(value, str):
            continue
        try:
            parse(value)
        except GraphQLError:
            continue
        found[name] = value
    return found


def _operation(document: str) -> OperationDefinitionNode:
    [operation] = parse(document).definitions
    assert isinstance(operation, OperationDefinitionNode)
    return operation


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_each_document_validates_against_the_sandbox_schema(name: str) -> None:
    assert validate(sandbox_schema(), parse(DOCUMENTS[name])) == []


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_each_document_asks_what_it_cost(name: str) -> None:
    operation = _operation(DOCUMENTS[name])
    first = operation.selection_set.selections[0]
    assert isinstance(first, FieldNode)
    assert first.name.value == "complexity"
    assert first.selection_set is not None
    asked = {f.name.value for f in first.selection_set.selections if isinstance(f, FieldNode)}
    assert {"before", "after", "reset_in_x_seconds"} <= asked


def test_every_document_constant_is_registered() -> None:
    constants = _module_documents()
    assert len(constants) >= 8
    assert set(constants.values()) <= set(DOCUMENTS.values())


def test_every_batch_size_has_its_document() -> None:
    batches = {n: d for n, d in DOCUMENTS.items() if n.startswith("ChangeMany")}
    assert len(batches) == MAX_BATCH
    for size in range(1, MAX_BATCH + 1):
        operation = _operation(documents.change_many_document(size))
        assert operation.operation == OperationType.MUTATION
        updates = [
            f
            for f in operation.selection_set.selections
            if isinstance(f, FieldNode) and f.name.value == "change_multiple_column_values"
        ]
        assert [f.alias.value for f in updates if f.alias] == [f"u{i}" for i in range(size)]
    with pytest.raises(ValueError, match="batch"):
        documents.change_many_document(MAX_BATCH + 1)


def _literals(node: ValueNode) -> list[ValueNode]:
    if isinstance(node, VariableNode):
        return []
    if isinstance(node, ListValueNode):
        return [lit for value in node.values for lit in _literals(value)]
    if isinstance(node, ObjectValueNode):
        return [lit for field in node.fields for lit in _literals(field.value)]
    return [node]


def test_no_document_carries_a_value_only_variables() -> None:
    # board ids, item ids, column values and limits always travel in `variables`
    literals: list[tuple[str, str]] = []

    class Arguments(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            literals.extend((node.name.value, print_ast(v)) for v in _literals(node.value))

    for document in DOCUMENTS.values():
        visit(parse(document), Arguments())
    assert literals == []
