"""The root of every error the connector raises on purpose.

Each client package subclasses exactly one of the two branches below, so a caller
(the chassis runner, a sink) can decide between "retry later" and "dead-letter it"
without knowing which external system failed::

    ConnectorError
    ├── RetryableError       the same call may succeed later (429, 5xx, network)
    │   ├── SystemUnavailable    the external system is down or throttling, not this record
    │   ├── NotArrivedYet        the record needs what another writer has yet to write
    │   └── KeptConflicting      the target changed under every attempt (ETag, 412)
    └── PermanentError       repeating the call unchanged cannot help (4xx, bad auth)
        └── CredentialRefused    the system refused (or we lack) the credential

The consumer runner spends a record's retry budget on a `RetryableError` but not on a
`SystemUnavailable`: an outage or a 429 says nothing about the record, so the runner holds
its key and tries again (after `retry_after`, when the system said) for as long as the
outage lasts, and the record is never dead-lettered for it.
"""

from __future__ import annotations

__all__ = [
    "ConnectorError",
    "CredentialRefused",
    "KeptConflicting",
    "NotArrivedYet",
    "PermanentError",
    "RetryableError",
    "SystemUnavailable",
]


class ConnectorError(Exception):
    """Root of all deliberate connector errors."""


class RetryableError(ConnectorError):
    """A later attempt may succeed; `retry_after` is the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SystemUnavailable(RetryableError):
    """The external system cannot take any call now (an outage, a 503, a 429): the record
    is fine, so waiting costs it nothing. Every client raises this for such answers."""


class NotArrivedYet(RetryableError):
    """The record waits for something another writer has not written yet (a ledger entry, a
    reference record). It is retried within the budget like any retryable error, but the
    raiser audits the wait (once, when it starts) and the runner does not audit each retry."""


class PermanentError(ConnectorError):
    """Repeating the same request cannot succeed; route it to a DLQ or a human."""


class KeptConflicting(RetryableError):
    """The target changed under every attempt (an ETag race, 412 each time): a later attempt
    may succeed; dead-lettered once the retry budget is spent, as a conflict."""


class CredentialRefused(PermanentError):
    """The external system refused the credential (or none is configured): repeating the call
    with it cannot help; an operator fixes the credential, then redrives the record."""
