"""``POST /monday/v2``: monday's one GraphQL endpoint, with its limits in front.

In order: the token (``Authorization: <token>``, no Bearer), the concurrency cap
(``maxConcurrencyExceeded``), the daily and per-minute call limits, then parsing and
validation by graphql-core, the complexity budget, and execution. Limit errors answer 429
with ``retry_in_seconds`` and ``Retry-After`` in real seconds, so a client that waits comes
back when the sandbox's window is over at any clock speed. Application errors answer 200.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    validate,
)
from graphql.pyutils import is_awaitable

from sandbox.monday.cost import operation_cost
from sandbox.monday.errors import MondayApplicationError, limit_error, unauthenticated
from sandbox.monday.limits import Refusal
from sandbox.monday.resolvers import Mutation, Query, RequestContext
from sandbox.monday.schema import sandbox_schema
from sandbox.monday.state import MondayState


def _error(error: GraphQLError) -> dict[str, Any]:
    rendered = error.formatted
    original = error.original_error
    if isinstance(original, MondayApplicationError):
        rendered["extensions"] = original.extensions
    elif original is None and "extensions" not in rendered:
        rendered["extensions"] = {"code": "GRAPHQL_VALIDATION_FAILED", "status_code": 200}
    return dict(rendered)


def _errors_only(errors: list[GraphQLError], account_id: int) -> JSONResponse:
    return JSONResponse({"errors": [_error(e) for e in errors], "account_id": account_id})


def _refuser(state: MondayState) -> Callable[[Refusal], JSONResponse]:
    def refuse(refusal: Refusal) -> JSONResponse:
        state.refusals[refusal.code] = state.refusals.get(refusal.code, 0) + 1
        speed = state.clock.speed
        seconds = refusal.retry_in_seconds / speed if speed > 0 else refusal.retry_in_seconds
        return limit_error(
            refusal.message,
            code=refusal.code,
            retry_in_seconds=seconds,
            account_id=state.config.account_id,
        )

    return refuse


async def _run(state: MondayState, request: Request, token: str) -> JSONResponse:
    account_id = state.config.account_id
    refuse = _refuser(state)
    body = await request.json()
    query = body.get("query") if isinstance(body, dict) else None
    variables = (body.get("variables") if isinstance(body, dict) else None) or {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        error = GraphQLError("Body must be JSON with a query string and variables object")
        return JSONResponse({"errors": [_error(error)]}, status_code=400)
    try:
        document = parse(query)
    except GraphQLError as error:
        return _errors_only([error], account_id)
    errors = validate(sandbox_schema(), document)
    if errors:
        return _errors_only(errors, account_id)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = operations[0]
    cost = operation_cost(operation, fragments, variables, mutation_cost=state.config.mutation_cost)
    if cost > state.config.complexity_per_query_limit:
        # One query above monday's 5M cap can never run: a permanent application error
        # (its code is UNCONFIRMED).
        too_complex = MondayApplicationError(
            f"Query has complexity of {cost}, which exceeds max complexity of "
            f"{state.config.complexity_per_query_limit}",
            code="maxComplexityExceeded",
            complexity=cost,
            max_complexity=state.config.complexity_per_query_limit,
        )
        return JSONResponse(
            {"errors": [{"message": str(too_complex), "extensions": too_complex.extensions}]}
        )
    before = state.limits.budget_left(token)
    refusal = state.limits.spend(token, cost)
    if refusal is not None:
        return refuse(refusal)
    root = Mutation if operation.operation == OperationType.MUTATION else Query
    result = execute(
        sandbox_schema(),
        document,
        root_value=root,
        context_value=RequestContext(state, token, cost, before),
        variable_values=variables,
    )
    if is_awaitable(result):
        result = await result
    payload: dict[str, Any] = {"data": result.data, "account_id": account_id}  # type: ignore[union-attr]
    if result.errors:  # type: ignore[union-attr]
        payload["errors"] = [_error(e) for e in result.errors]  # type: ignore[union-attr]
    return JSONResponse(payload)


def build_api_router(state: MondayState) -> APIRouter:
    router = APIRouter()
    tokens = {secret.get_secret_value() for secret in state.config.tokens}
    refuse = _refuser(state)

    @router.post("/v2")
    async def graphql_endpoint(request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "")
        if token not in tokens:
            return unauthenticated()
        if state.requests_in_flight >= state.config.max_concurrent_requests:
            return refuse(Refusal("maxConcurrencyExceeded", "Max concurrency exceeded", 1.0))
        refusal = state.limits.admit_call(token)
        if refusal is not None:
            return refuse(refusal)
        state.api_versions.add(request.headers.get("api-version", ""))
        state.requests_in_flight += 1
        try:
            return await _run(state, request, token)
        finally:
            state.requests_in_flight -= 1

    return router
