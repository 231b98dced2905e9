"""The Visma probe: the client-credentials token the services use, each company read, the
scopes granted and what is left of each company's hourly request allowance.

One token per configured Company tenant (Visma Connect binds a token to one company), then
one list page of one supplier with it: a read that proves the company is reachable and
brings Visma's X-RateLimit-* headers. The Remaining figure is the headroom that warns early.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from credential_check.config import VismaCheck
from credential_check.result import HOUR_LEFT, Outcome
from visma_client.auth import TokenProvider
from visma_client.client import RateLimitSeen, VismaClient
from visma_client.config import VismaCredentials
from visma_client.errors import VismaAuthError, VismaCredentialsRefused, VismaRateLimited
from visma_client.models import VismaRecordDto

__all__ = ["probe_visma"]

READ_PATH = "/v1/supplier"
"""Every company has suppliers, and reading one changes nothing."""


@dataclass(frozen=True)
class _Company:
    tenant: str
    granted: frozenset[str] | None
    rate: RateLimitSeen | None


async def _read_company(
    entry: VismaCheck,
    tenant: str,
    secret: SecretStr,
    *,
    transport: httpx.AsyncBaseTransport | None,
    request_timeout: float,
) -> _Company:
    credentials = VismaCredentials(
        client_id=entry.client_id, client_secret=secret, tenant_id=tenant
    )
    token_http = httpx.AsyncClient(transport=transport, timeout=request_timeout)
    api_http = httpx.AsyncClient(
        base_url=entry.api_base, transport=transport, timeout=request_timeout
    )
    async with token_http, api_http:
        tokens = TokenProvider(
            token_http,
            credentials=credentials,
            token_url=entry.token_url,
            scope=" ".join(entry.scopes),
        )
        client = VismaClient(api_http, tokens=tokens, company_id=tenant, send_company_header=False)
        pages = client.iter_filtered_pages(READ_PATH, VismaRecordDto, filters={}, page_size=1)
        await anext(pages, None)  # one page of one supplier: enough, no second page
        return _Company(tenant=tenant, granted=tokens.granted_scopes, rate=client.last_rate_limit)


async def probe_visma(
    entry: VismaCheck,
    secret: SecretStr,
    *,
    transport: httpx.AsyncBaseTransport | None,
    request_timeout: float,
) -> Outcome:
    seen: list[_Company] = []
    for tenant in entry.companies:
        try:
            company = await _read_company(
                entry, tenant, secret, transport=transport, request_timeout=request_timeout
            )
        except VismaCredentialsRefused as exc:
            return Outcome(
                False,
                f"client {entry.client_id} for {tenant}: {exc}",
                "check the client id and the Company tenant id; a new secret: "
                f"mlc secrets set {entry.credential}",
            )
        except VismaAuthError as exc:
            return Outcome(
                False,
                f"client {entry.client_id} may not read company {tenant}: {exc}",
                "approve the integration for the company in Visma (the App Store) or fix the "
                "tenant id",
            )
        except VismaRateLimited as exc:
            return Outcome(
                False,
                f"company {tenant}: no requests left this hour ({exc})",
                "wait for the hour to roll over; lower the pollers' frequency",
                {HOUR_LEFT: 0.0},
            )
        seen.append(company)
    return _judge(entry, seen)


def _judge(entry: VismaCheck, seen: list[_Company]) -> Outcome:
    wanted = set(entry.scopes)
    text = f"{len(seen)} company(ies) readable ({', '.join(c.tenant for c in seen)})"
    granted = [c.granted for c in seen if c.granted is not None]
    missing = sorted({s for g in granted for s in wanted - g})
    if missing:
        return Outcome(
            False,
            f"{text}; scopes not granted: {', '.join(missing)}",
            "grant the scopes to the client in the Visma Developer Portal",
        )
    text += "; scopes granted" if granted else "; scopes not stated by Visma Connect"
    rates = [
        (c.tenant, c.rate) for c in seen if c.rate is not None and c.rate.remaining is not None
    ]
    if not rates:
        return Outcome(True, text + "; no rate-limit headers")
    tenant, tightest = min(rates, key=lambda pair: pair[1].remaining or 0)
    left = tightest.remaining or 0
    text += f"; {left} of {tightest.limit} requests left this hour in {tenant}"
    if tightest.reset_seconds is not None:
        text += f" (resets in {tightest.reset_seconds:.0f} s)"
    headroom = {HOUR_LEFT: float(left)}
    if left < entry.requests_floor:
        return Outcome(
            False,
            text,
            f"fewer than {entry.requests_floor} left: lower the pollers' frequency, or wait "
            "for the hour to roll over",
            headroom,
        )
    return Outcome(True, text, headroom=headroom)
