"""How a call reaches monday: ``POST {base}/v2`` with the raw token and a pinned API version.

monday authenticates with ``Authorization: <token>`` (no ``Bearer``) and serves the schema
of the ``API-Version`` header (``yyyy-mm``), pinned in configuration so a new default version
on monday's side never changes our documents' meaning. The token stays a `SecretStr` until
the moment a request is signed (`TokenAuth`), so it is in no client header dict, repr or log.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import httpx
from pydantic import SecretStr

from monday_client.errors import MondayUnavailable

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_BASE_URL",
    "GraphQLTransport",
    "TokenAuth",
]

DEFAULT_BASE_URL = "https://api.monday.com"
DEFAULT_API_VERSION = "2025-07"
_VERSION = re.compile(r"^\d{4}-(01|04|07|10)$")


class TokenAuth(httpx.Auth):
    """Signs each request with the raw token, as monday wants it."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "TokenAuth(token=**********)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._token.get_secret_value()
        yield request


class GraphQLTransport:
    """One token's ``POST /v2`` over an `httpx.AsyncClient` the transport owns."""

    def __init__(
        self,
        token: SecretStr,
        *,
        base_url: str,
        api_version: str,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
    ) -> None:
        if not _VERSION.match(api_version):
            raise ValueError(f"API-Version must be yyyy-mm with month 01/04/07/10: {api_version}")
        self.api_version = api_version
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=TokenAuth(token),
            headers={"API-Version": api_version},
            transport=transport,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"GraphQLTransport(base_url={str(self._http.base_url)!r})"

    async def post(self, document: str, variables: dict[str, Any]) -> httpx.Response:
        """Sends one document; a network failure is `MondayUnavailable`.

        A connection that never opened was refused (nothing happened); after a timeout or a
        dropped connection a mutation may or may not have been applied."""
        try:
            return await self._http.post("/v2", json={"query": document, "variables": variables})
        except httpx.ConnectError as exc:
            raise MondayUnavailable(
                f"monday unreachable: {type(exc).__name__}", refused=True
            ) from exc
        except httpx.TransportError as exc:
            raise MondayUnavailable(f"monday call failed: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await self._http.aclose()
