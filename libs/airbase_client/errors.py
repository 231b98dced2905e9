"""Airbase failures, classed by whether a retry can help.

Airbase's API reference is behind a customer login. Its recorded answers carry Django REST
Framework's marks (trailing slashes, ``Allow``, the ``Token`` keyword), so the client reads
errors in DRF's shapes (UNCONFIRMED, inferred): ``{"detail": "..."}`` for 401, 403, 404,
405 and 429 (with ``Retry-After``), ``{"<field>": ["..."]}`` for a 400, a text or HTML
body for a 5xx. ::

    AirbaseError (ConnectorError)           `status`, `detail` (Airbase's own words)
    ├── AirbaseRateLimited         SystemUnavailable  429 still refused after the client's
    │                                                 bounded waits (`retry_after`)
    ├── AirbaseUnavailable         SystemUnavailable  503, or the connection never opened
    ├── AirbaseServerError         RetryableError     500/502/504 or a timeout after the
    │                                                 client's bounded backoff: the request
    │                                                 may have been acted on
    ├── AirbaseUnreadable          RetryableError     a 2xx not in the documented shape
    ├── AirbaseCredentialsRefused  PermanentError     401/403: the token (or its scheme)
    ├── AirbaseNotFound            PermanentError     404: no such record or path
    ├── AirbaseValidationError     PermanentError     400; `field_errors` names each field
    │   └── AirbaseAlreadySynced                      the ledger entry is synced under
    │                                                 another ERP reference
    ├── AirbaseAmbiguousReference  PermanentError     two records hold one ERP reference
    └── AirbaseRequestError        PermanentError     any other 4xx (405, 409, ...), or a
                                                      redirect (a profile path without
                                                      its trailing slash)

`refused` says Airbase certainly did nothing (a 429, a 503, a 4xx, a connection that never
opened), so a writer may repeat a create without first looking for an earlier copy. A 500
or a timeout leaves that open. No error carries the token: only Airbase's own words.
"""

from __future__ import annotations

from chassis.errors import (
    ConnectorError,
    CredentialRefused,
    PermanentError,
    RetryableError,
    SystemUnavailable,
)

__all__ = [
    "AirbaseAlreadySynced",
    "AirbaseAmbiguousReference",
    "AirbaseCredentialsRefused",
    "AirbaseError",
    "AirbaseNotFound",
    "AirbaseRateLimited",
    "AirbaseRequestError",
    "AirbaseServerError",
    "AirbaseUnavailable",
    "AirbaseUnreadable",
    "AirbaseValidationError",
]


class AirbaseError(ConnectorError):
    """Root of every error raised by `airbase_client`."""

    refused = True
    """Airbase did nothing with the request (it is safe to send again without a look)."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail or message


class AirbaseRateLimited(AirbaseError, SystemUnavailable):
    """Airbase throttled the token (its hourly budget, DRF's 429); wait `retry_after`."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.retry_after = retry_after


class AirbaseUnavailable(AirbaseError, SystemUnavailable):
    """Airbase (or the network to it) is down: no call works until it is back."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.retry_after = retry_after


class AirbaseServerError(AirbaseError, RetryableError):
    """Airbase failed or did not answer in time: the request may have been acted on, so it
    is retried within the record's budget (a request that always fails must not hold its
    tenant forever) and a create is looked up before it is sent again."""

    refused = False


class AirbaseUnreadable(AirbaseError, RetryableError):
    """A 2xx whose body is not what the contract describes (no ``data`` list, a record
    missing its id); a later read may succeed, and a record that never does ends in a DLQ."""


class AirbaseCredentialsRefused(AirbaseError, CredentialRefused):
    """Airbase refused the token (401 ``Invalid token.``, or 403): nothing is wrong with the
    record, so a sink holds the tenant until the credential is replaced."""


class AirbaseNotFound(AirbaseError, PermanentError):
    """No such record (DRF's ``Not found.``), or no such path in this profile."""


class AirbaseValidationError(AirbaseError, PermanentError):
    """Airbase refused what was sent (DRF's 400). `field_errors` maps each field, in the
    connector's names and dotted for nested ones (``expense_list[0].amount``), to Airbase's
    messages; `fields` lists them."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 400,
        detail: str = "",
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.field_errors = dict(field_errors or {})

    @property
    def fields(self) -> list[str]:
        return list(self.field_errors)


class AirbaseAlreadySynced(AirbaseValidationError):
    """`mark_synced` found the ledger entry synced under another ERP reference (the same
    one is an idempotent success): someone else posted it, so nothing is overwritten."""


class AirbaseAmbiguousReference(AirbaseError, PermanentError):
    """More than one record holds one ERP reference: the upsert cannot choose, a human must."""


class AirbaseRequestError(AirbaseError, PermanentError):
    """Airbase rejected this request for another reason (405, 409, 413, ...), or sent it
    elsewhere (a 301 from Django's APPEND_SLASH: the profile's path lacks its slash)."""
