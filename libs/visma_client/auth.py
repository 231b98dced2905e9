"""OAuth client-credentials tokens for Visma Connect, fetched once and shared.

Every API call needs a bearer token; asking Visma Connect for one per call would
spend rate budget and add latency. The provider caches the token for a share of its
lifetime (80% by default, so a 60-second token is fetched every 48 s, not before every call
as a fixed margin would do), and a lock makes concurrent callers wait for a single refresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from visma_client.config import DEFAULT_SCOPE, DEFAULT_TOKEN_URL, VismaCredentials
from visma_client.errors import VismaCredentialsRefused, VismaServerError, VismaUnavailable

__all__ = ["TokenProvider"]

logger = logging.getLogger(__name__)


class _TokenResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: SecretStr
    expires_in: float = 3600.0
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type
    scope: str | None = None
    """The scopes granted, space-separated, when Visma Connect names them (RFC 6749 5.1)."""


class TokenProvider:
    """Hands out a valid access token, refreshing it when it is about to expire."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        credentials: VismaCredentials,
        token_url: str = DEFAULT_TOKEN_URL,
        scope: str = DEFAULT_SCOPE,
        refresh_share: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._token_url = token_url
        self._scope = scope
        if not 0.0 < refresh_share <= 1.0:
            raise ValueError("refresh_share must be in (0, 1]")
        self._refresh_share = refresh_share
        self._clock = clock
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.granted_scopes: frozenset[str] | None = None
        """The scopes of the last token, when Visma Connect said (`mlc check` compares)."""

    def __repr__(self) -> str:
        return (
            f"TokenProvider(token_url={self._token_url!r}, "
            f"client_id={self._credentials.client_id!r})"
        )

    async def token(self) -> str:
        """A bearer token that has used less than `refresh_share` of its lifetime."""
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                await self._refresh()
            assert self._token is not None
            return self._token.get_secret_value()

    def invalidate(self, stale: str | None = None) -> None:
        """Forget the cached token (only if it is still `stale`, when that is given).

        Passing the token that was refused stops several concurrent 401s from each
        throwing away the fresh token another caller has just fetched.
        """
        if stale is None or (self._token is not None and self._token.get_secret_value() == stale):
            self._token = None
            self._expires_at = 0.0

    async def _refresh(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret.get_secret_value(),
            "tenant_id": self._credentials.tenant_id,
            "scope": self._scope,
        }
        try:
            response = await self._http.post(self._token_url, data=form)
        except httpx.TransportError as exc:
            raise VismaUnavailable(f"Visma Connect unreachable: {type(exc).__name__}") from exc
        if response.status_code in (429, 503):
            raise VismaUnavailable(f"Visma Connect answered {response.status_code}")
        if response.status_code >= 500:
            raise VismaServerError(f"Visma Connect answered {response.status_code}")
        if response.status_code != 200:
            # The body names the OAuth error (invalid_client, ...) and never echoes the secret.
            raise VismaCredentialsRefused(
                f"Visma Connect refused the token request ({response.status_code}): "
                f"{response.text[:300]}"
            )
        try:
            parsed = _TokenResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise VismaServerError("Visma Connect sent an unreadable token response") from exc
        self._token = parsed.access_token
        if parsed.scope is not None:
            self.granted_scopes = frozenset(parsed.scope.split())
        # A share of the lifetime, not a fixed margin: the margin scales with the lifetime, so
        # a short-lived token is still reused for most of its life.
        self._expires_at = self._clock() + max(0.0, parsed.expires_in) * self._refresh_share
        logger.info("visma token refreshed", extra={"expires_in": parsed.expires_in})
