"""The companies file: which Visma companies a service reaches, and a client for each.

One YAML file says how to reach each company (URLs, client id, the client secret's name in
the credential store); the poller and the writer both read it, each adding its own fields by
subclassing these models. Secrets are never in the file: each company names its client
secret in the encrypted credential store (`credential:`); `client_secret_env` (an
environment variable) remains for local development.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from chassis.errors import PermanentError
from chassis.http import DEFAULT_RETRY, RetryPolicy, build_async_client
from chassis.jsonlog import REDACTOR
from chassis.ratelimit import HourlyBudget
from chassis.vault import CredentialVault, vault_from_environment
from visma_client.auth import TokenProvider
from visma_client.client import VismaClient
from visma_client.config import DEFAULT_API_BASE, DEFAULT_TOKEN_URL, VismaCredentials
from visma_client.errors import VismaError

__all__ = [
    "CompaniesFile",
    "CompaniesFileError",
    "CompanyAccess",
    "company_client",
    "company_secrets",
    "load_companies_file",
]


class CompaniesFileError(VismaError, PermanentError):
    """The companies file is unusable; the message says which file and field."""


class CompanyAccess(BaseModel):
    """How to reach one company; services subclass it to add their own fields."""

    # Other services' fields are ignored here; a subclass that owns the file may forbid them.
    model_config = ConfigDict(extra="ignore", frozen=True)

    tenant_id: str = Field(min_length=1)
    company_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    credential: str | None = Field(default=None, description="client secret's name in the store")
    client_secret_env: str | None = Field(default=None, description="development only")
    hourly_budget: int = Field(default=500, ge=1, description="API calls per hour")

    @model_validator(mode="after")
    def _one_secret_source(self) -> Self:
        if (self.credential is None) == (self.client_secret_env is None):
            raise ValueError("give exactly one of credential (store) or client_secret_env")
        return self

    def env_secret(self) -> SecretStr:
        """The client secret from `client_secret_env` (development only)."""
        assert self.client_secret_env is not None
        value = os.environ.get(self.client_secret_env)
        if not value:
            raise CompaniesFileError(
                f"company {self.company_id}: environment variable {self.client_secret_env} "
                "(its Visma client secret) is not set"
            )
        return SecretStr(value)


CompanyT = TypeVar("CompanyT", bound=CompanyAccess)


class CompaniesFile(BaseModel, Generic[CompanyT]):
    """Where Visma lives and the companies, as `CompanyT` (a service's own `CompanyAccess`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    token_url: str = DEFAULT_TOKEN_URL
    api_base: str = DEFAULT_API_BASE
    send_company_header: bool = True
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    companies: list[CompanyT] = Field(min_length=1)


FileT = TypeVar("FileT", bound=CompaniesFile[Any])


def load_companies_file(path: Path, model: type[FileT]) -> FileT:
    """Read and validate `path` as `model`; every problem is named by file and field."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise CompaniesFileError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CompaniesFileError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise CompaniesFileError(f"{path}: {problems}") from exc


def company_secrets(companies: Sequence[CompanyAccess]) -> dict[str, SecretStr]:
    """Each company's client secret, registered with the log redactor, by company id.

    The encrypted store is opened once, and only when some company names a credential.
    """
    secrets: dict[str, SecretStr] = {}
    vault: CredentialVault | None = None
    for company in companies:
        if company.credential is not None:
            if vault is None:
                vault = vault_from_environment()
                vault.load()
            secret = vault.get(company.credential)
        else:
            secret = company.env_secret()
        REDACTOR.register(secret)
        secrets[company.company_id] = secret
    return secrets


def company_client(
    file: CompaniesFile[Any],
    company: CompanyAccess,
    secret: SecretStr,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    time_scale: float = 1.0,
) -> tuple[VismaClient, list[httpx.AsyncClient]]:
    """One company's Visma client (token, hourly budget, retries) and the HTTP clients to close.

    `time_scale` shortens the budget's hour in demos and tests, as it does everywhere else.
    """
    token_http, api_http = (
        build_async_client(
            url, transport=transport, retry=retry, timeout=file.request_timeout_seconds
        )
        for url in (file.token_url, file.api_base)
    )
    credentials = VismaCredentials(
        client_id=company.client_id, client_secret=secret, tenant_id=company.tenant_id
    )
    client = VismaClient(
        api_http,
        tokens=TokenProvider(token_http, credentials=credentials, token_url=file.token_url),
        company_id=company.company_id,
        budget=HourlyBudget(company.hourly_budget, window_seconds=3600.0 / time_scale),
        send_company_header=file.send_company_header,
    )
    return client, [token_http, api_http]
