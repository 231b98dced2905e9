"""Whether Visma accepts a company's credentials, and how long to wait before asking again.

A refused client secret (`invalid_client`, a token refused twice, a 403) does not heal by
itself: asking every 30 seconds only fills the log and spends the company's budget. The
watch counts every refusal, logs at error level once when the company goes from accepted to
refused (and a warning once when it is accepted again), backs off exponentially up to a ceiling, and
keeps a status that health checks (`mlc check`, the console) read from the gauge or from
`status()`. Other companies never wait for it: each company has its own watch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

REFUSALS = Counter(
    "mlc_visma_credential_refusals_total", "Visma refusals of a company's credentials", ["company"]
)
REFUSED = Gauge(
    "mlc_visma_credentials_refused", "1 while Visma refuses this company's credentials", ["company"]
)

FIRST_BACKOFF_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 1800.0


@dataclass(frozen=True)
class CredentialStatus:
    """What an operator needs to know about one company's access to Visma."""

    company_id: str
    refused: bool
    refusals: int
    """Refusals since the credentials were last accepted."""
    error: str | None
    retry_in_seconds: float | None
    """Until the next attempt (in the scaled clock), while refused."""


class CredentialWatch:
    def __init__(
        self,
        company_id: str,
        *,
        clock: Callable[[], float],
        time_scale: float = 1.0,
    ) -> None:
        self.company_id = company_id
        self._clock = clock
        self._scale = time_scale
        self._refusals = 0
        self._error: str | None = None
        self._held_until = 0.0
        REFUSED.labels(company_id).set(0)

    @property
    def held_until(self) -> float:
        """No poll of this company before this clock reading (0 while accepted)."""
        return self._held_until

    def refused(self, error: str) -> float:
        """Visma refused the credentials: count it and return the backoff (scaled seconds)."""
        REFUSALS.labels(self.company_id).inc()
        if self._refusals == 0:
            log.error(
                "visma refuses the company's credentials; polling it is held",
                extra={"company": self.company_id, "error": error},
            )
        self._refusals += 1
        self._error = error
        REFUSED.labels(self.company_id).set(1)
        doubled = FIRST_BACKOFF_SECONDS * float(2 ** min(self._refusals - 1, 32))
        backoff = min(MAX_BACKOFF_SECONDS, doubled)
        self._held_until = self._clock() + backoff / self._scale
        return backoff / self._scale

    def accepted(self) -> None:
        """A call went through: the credentials work (again)."""
        if self._refusals:
            log.warning(
                "visma accepts the company's credentials again; polling resumes",
                extra={"company": self.company_id, "refusals": self._refusals},
            )
        self._refusals = 0
        self._error = None
        self._held_until = 0.0
        REFUSED.labels(self.company_id).set(0)

    def status(self) -> CredentialStatus:
        wait = self._held_until - self._clock() if self._refusals else None
        return CredentialStatus(
            company_id=self.company_id,
            refused=self._refusals > 0,
            refusals=self._refusals,
            error=self._error,
            retry_in_seconds=max(0.0, wait) if wait is not None else None,
        )
