"""All per-run state of the Visma simulator, built once per app.

Routes stay thin: authentication, budget accounting and statistics live here so the
HTTP layer only translates. ``VismaApiError`` carries a ready Visma-style error answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NoReturn

from sandbox.clock import SandboxClock
from sandbox.config import VismaConfig
from sandbox.dataset import make_invoices, make_suppliers
from sandbox.faults import FaultInjector
from sandbox.visma.access import FixedWindowBudget, TokenGrant, TokenIssuer
from sandbox.visma.records import InvoiceStore, Supplier


def ipp_error(message: str, fault_code: str) -> dict[str, object]:
    return {
        "ExceptionType": "IPPException",
        "ExceptionMessage": message,
        "ExceptionFaultCode": fault_code,
        "ExceptionMessageID": fault_code,
        "ExceptionDetails": "",
    }


class VismaApiError(Exception):
    def __init__(
        self, status: int, message: str, fault_code: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ipp_error(message, fault_code)
        self.headers = headers or {}


@dataclass
class VismaStats:
    calls: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[str] = field(default_factory=Counter)
    tokens_issued: int = 0
    unauthorized: int = 0

    def as_dict(self, faults_injected: int) -> dict[str, object]:
        return {
            "calls": dict(self.calls),
            "rate_limited": dict(self.rate_limited),
            "tokens_issued": self.tokens_issued,
            "unauthorized": self.unauthorized,
            "faults_injected": faults_injected,
        }


@dataclass(frozen=True)
class Access:
    grant: TokenGrant
    headers: dict[str, str]

    @property
    def company(self) -> str:
        return self.grant.tenant_id


class VismaState:
    def __init__(self, config: VismaConfig, clock: SandboxClock, *, seed: int) -> None:
        self.config = config
        self.clock = clock
        self.store = InvoiceStore()
        self.tokens = TokenIssuer(ttl_seconds=config.token_ttl_seconds)
        self.budget = FixedWindowBudget(
            limit=config.hourly_budget, window_seconds=config.budget_window_seconds
        )
        self.faults = FaultInjector()
        self.stats = VismaStats()
        self.suppliers: dict[str, list[Supplier]] = {}
        self.seed(config.invoices_per_company, seed=seed)

    def seed(self, invoices_per_company: int, *, seed: int) -> None:
        """Replace every company's invoices with a fresh deterministic dataset."""
        self.store.clear()
        anchor = self.clock.now()
        for company in self.config.tenants:
            self.suppliers[company] = make_suppliers(company, seed)
            self.store.ensure_company(company)
            for invoice in make_invoices(company, invoices_per_company, seed=seed, anchor=anchor):
                self.store.add(invoice)

    def reset_counters(self) -> None:
        self.stats = VismaStats()
        self.budget.reset()

    def authorize(self, authorization: str | None, company_header: str | None) -> Access:
        """Check the bearer token, then charge one call to the company+client budget."""
        scheme, _, token = (authorization or "").partition(" ")
        grant = self.tokens.lookup(token.strip()) if scheme.lower() == "bearer" else None
        now = self.clock.time()
        if grant is None:
            self._deny("Authorization has been denied for this request.", "invalid_token")
        elif grant.expires_at <= now:
            self._deny("The access token has expired.", "token_expired")
        elif (
            self.config.strict_company_header
            and company_header is not None
            and company_header != grant.tenant_id
        ):
            self._deny("The company is not accessible with this token.", "company_mismatch")
        decision = self.budget.take((grant.tenant_id, grant.client_id), now)
        if not decision.allowed:
            self.stats.rate_limited[grant.tenant_id] += 1
            headers = decision.headers() | {"Retry-After": str(decision.reset_seconds)}
            raise VismaApiError(429, "Rate limit exceeded.", "rate_limited", headers)
        self.stats.calls[grant.tenant_id] += 1
        return Access(grant=grant, headers=decision.headers())

    def _deny(self, message: str, fault_code: str) -> NoReturn:
        self.stats.unauthorized += 1
        raise VismaApiError(401, message, fault_code)
