"""The shared companies file: one file for every reader, secrets resolved once, clients wired."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from pydantic import SecretStr

from chassis.jsonlog import REDACTOR
from visma_client import (
    VISMA_ENTITIES,
    CompaniesFile,
    CompaniesFileError,
    CompanyAccess,
    VismaRequestRejected,
    company_client,
    company_secrets,
    load_companies_file,
)

pytestmark = pytest.mark.unit

TOKEN_URL = "https://connect.test/connect/token"
API = "https://api.test/visma"


class AnyReader(CompaniesFile[CompanyAccess]):
    """A reader that needs only the shared fields, as the writer does."""


def dev_company(**overrides: object) -> dict[str, object]:
    return {"tenant_id": "tenant-1", "company_id": "company-1", "client_id": "mlc",
            "client_secret_env": "MLC_TEST_COMPANY_SECRET", **overrides}  # fmt: skip


def test_a_reader_of_the_shared_fields_ignores_the_pollers_own(tmp_path: Path) -> None:
    path = tmp_path / "companies.yaml"
    path.write_text(yaml.safe_dump({
        "api_base": API, "overlap_seconds": 60, "webhook_reserve": 0.2,
        "companies": [dev_company(page_size=50, entities={"supplier": {"every": "1h"}})],
    }))  # fmt: skip
    file = load_companies_file(path, AnyReader)
    assert file.api_base == API
    assert [c.company_id for c in file.companies] == ["company-1"]


def test_a_bad_file_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "companies.yaml"
    path.write_text(yaml.safe_dump({"companies": [dev_company(hourly_budget=0)]}))
    with pytest.raises(CompaniesFileError) as caught:
        load_companies_file(path, AnyReader)
    assert str(path) in str(caught.value)
    assert "companies.0.hourly_budget" in str(caught.value)


def test_a_secret_from_the_environment_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    company = CompanyAccess.model_validate(dev_company())
    monkeypatch.setenv("MLC_TEST_COMPANY_SECRET", "env-secret-7431")
    secrets = company_secrets([company])
    assert secrets["company-1"].get_secret_value() == "env-secret-7431"
    assert "env-secret-7431" not in REDACTOR("token env-secret-7431 leaked")


def test_an_unset_secret_variable_names_company_and_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    company = CompanyAccess.model_validate(dev_company())
    monkeypatch.delenv("MLC_TEST_COMPANY_SECRET", raising=False)
    with pytest.raises(CompaniesFileError, match="company-1: environment variable MLC_TEST_"):
        company_secrets([company])


@pytest.mark.anyio
async def test_the_client_talks_to_the_files_urls_as_the_company(anyio_backend: str) -> None:
    seen: list[httpx.Request] = []

    def visma(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        return httpx.Response(404, json={"message": "no such supplier"})

    file = AnyReader.model_validate(
        {"token_url": TOKEN_URL, "api_base": API, "companies": [dev_company()]}
    )
    client, http_clients = company_client(
        file, file.companies[0], SecretStr("s3cret-1"),
        transport=httpx.MockTransport(visma), retry=None,
    )  # fmt: skip
    try:
        with pytest.raises(VismaRequestRejected):
            await client.get_entity(VISMA_ENTITIES["supplier"], "10001")
    finally:
        for http in http_clients:
            await http.aclose()
    token, api = seen
    assert dict(httpx.QueryParams(token.content.decode()))["client_id"] == "mlc"
    assert str(api.url).startswith(f"{API}/")
    assert api.headers["authorization"] == "Bearer tok"
    assert api.headers["ipp-company-id"] == "company-1"
    assert all(http.is_closed for http in http_clients)
