"""All per-run state of the Visma simulator, built once per app.

Routes stay thin: authentication, budget accounting, statistics and the record changes
that feed webhooks live here so the HTTP layer only translates. ``VismaApiError``
carries a ready Visma-style error answer.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import httpx

from sandbox.clock import SandboxClock
from sandbox.config import VismaConfig
from sandbox.faults import FaultInjector
from sandbox.visma.access import FixedWindowBudget, TokenGrant, TokenIssuer
from sandbox.visma.entities import ENTITY_SPECS, EntitySpec
from sandbox.visma.invoice_actions import ActionLedger
from sandbox.visma.paging import PagingChurn
from sandbox.visma.records import Supplier
from sandbox.visma.seeding import new_record_fields, seed_company
from sandbox.visma.store import EntityStore, Record
from sandbox.visma.webhooks import WebhookDispatcher


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
    calls_by_route: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    tokens_issued: int = 0
    unauthorized: int = 0

    def as_dict(self, faults_injected: int) -> dict[str, object]:
        return {
            "calls": dict(self.calls),
            "calls_by_route": {c: dict(routes) for c, routes in self.calls_by_route.items()},
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
    def __init__(
        self,
        config: VismaConfig,
        clock: SandboxClock,
        *,
        seed: int,
        webhook_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.store = EntityStore()
        self.tokens = TokenIssuer(ttl_seconds=config.token_ttl_seconds)
        self.budget = FixedWindowBudget(
            limit=config.hourly_budget, window_seconds=config.budget_window_seconds
        )
        self.faults = FaultInjector(seed=seed, clock=clock)
        self.webhooks = WebhookDispatcher(client=webhook_client, seed=seed)
        self.stats = VismaStats()
        self.actions = ActionLedger()
        self.paging = PagingChurn(seed=seed)
        self.suppliers: dict[str, list[Supplier]] = {}
        self._after_read: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._rng = random.Random(seed)
        self.seed(config.invoices_per_company, seed=seed)

    def seed(
        self, invoices_per_company: int, *, seed: int, records_per_company: int | None = None
    ) -> None:
        """Replace every company's records with a fresh deterministic dataset."""
        self.store.clear()
        self.actions.clear()
        anchor = self.clock.now()
        counts = {
            spec.name: self.config.count_for(spec.name, records_per_company=records_per_company)
            for spec in ENTITY_SPECS
        }
        counts["supplierInvoice"] = invoices_per_company
        for company in self.config.tenants:
            self.suppliers[company] = seed_company(
                self.store, company, counts=counts, seed=seed, anchor=anchor
            )

    def reset_counters(self) -> None:
        self.stats = VismaStats()
        self.webhooks.stats = type(self.webhooks.stats)()
        self.budget.reset()

    # ---- changes: each one is stored first, then announced to webhook subscribers ----

    def create(self, spec: EntitySpec, company: str, overrides: Mapping[str, Any]) -> Record:
        """May raise ``CannotCreate`` (duplicate id, or missing related records)."""
        now = self.clock.now()
        fields = new_record_fields(
            self.store,
            spec,
            company,
            overrides=overrides,
            rng=self._rng,
            now=now,
            suppliers=self.suppliers.get(company, []),
        )
        record = self.store.add(spec, company, fields, created=now, last_modified=now)
        self.webhooks.notify(record, "Created")
        return record

    def change(self, record: Record, updates: Mapping[str, Any]) -> Record:
        record.fields.update(updates)
        self.store.touch(record, self.clock.now())
        self.webhooks.notify(record, "Changed")
        return record

    def change_after_next_read(self, record: Record, updates: Mapping[str, Any]) -> None:
        """Someone else saves `record` (with `updates`) just after the next public read of it,
        so the reader's ETag is stale by the time it writes (tests' "change between read
        and write")."""
        self._after_read[(record.entity, record.company, record.entity_id)] = dict(updates)

    def was_read(self, record: Record) -> None:
        """A public GET of `record` has been answered: a change armed for it happens now."""
        updates = self._after_read.pop((record.entity, record.company, record.entity_id), None)
        if updates is not None:
            self.change(record, updates)

    def touch_random(self, spec: EntitySpec, company: str, count: int) -> list[Record]:
        """Change ``count`` random records, moving each to a status its kind already uses."""
        records = self.store.list(spec.name, company)
        chosen = self._rng.sample(records, min(count, len(records)))
        statuses = sorted({str(r.fields["status"]) for r in records if "status" in r.fields})
        for record in chosen:
            updates = {"status": self._rng.choice(statuses)} if statuses else {}
            self.change(record, updates)
        return chosen

    def authorize(
        self, authorization: str | None, company_header: str | None, route: str = ""
    ) -> Access:
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
        if route:
            self.stats.calls_by_route[grant.tenant_id][route] += 1
        return Access(grant=grant, headers=decision.headers())

    def _deny(self, message: str, fault_code: str) -> NoReturn:
        self.stats.unauthorized += 1
        raise VismaApiError(401, message, fault_code)
