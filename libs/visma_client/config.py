"""Where Visma lives and who we are to it, kept apart so settings can build them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = [
    "DEFAULT_API_BASE",
    "DEFAULT_SCOPE",
    "DEFAULT_TOKEN_URL",
    "VismaCredentials",
    "VismaEndpoints",
]

DEFAULT_TOKEN_URL = "https://connect.visma.com/connect/token"  # noqa: S105 - a URL
DEFAULT_API_BASE = "https://api.finance.visma.net"
DEFAULT_SCOPE = "vismanet_erp_service_api:read vismanet_erp_service_api:update"


class VismaCredentials(BaseModel):
    """A Visma Connect service client; `tenant_id` must be the Company tenant."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_secret: SecretStr
    tenant_id: str


class VismaEndpoints(BaseModel):
    """Token and API base URLs; the defaults are the live service."""

    model_config = ConfigDict(frozen=True)

    token_url: str = DEFAULT_TOKEN_URL
    api_base: str = DEFAULT_API_BASE

    @classmethod
    def sandbox(cls, root: str = "http://127.0.0.1:18080") -> VismaEndpoints:
        """The local simulator's endpoints."""
        return cls(token_url=f"{root}/visma/connect/token", api_base=f"{root}/visma")
